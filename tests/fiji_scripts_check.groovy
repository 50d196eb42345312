// Checks of lumicare_ij/fiji_scripts/*.groovy with Groovy and the real ImageJ 1.53t, run by tests/test_fiji_scripts.py:
//   java -cp groovy.jar:ij.jar groovy.ui.GroovyMain tests/fiji_scripts_check.groovy REPO WORKDIR
// Prints "key<TAB>value" lines for the Python test to assert on; any exception fails the run.
//
// Fiji's script processor (SciJava) consumes the "#@" parameter lines before the script reaches
// Groovy and puts the parameters into the binding; here the lines are blanked the same way and
// the scripts' functions are called directly, without their main part (which needs Fiji's
// services and, for restore_folder, the CSBDeep plugin). The CSBDeep call itself is exercised
// with stand-in services that record what the script asks for.

import ij.IJ
import ij.ImagePlus
import ij.measure.Calibration

def repo = new File(args[0])
def work = new File(args[1])
work.mkdirs()

def out = { String key, Object value -> println(key + "\t" + value) }

Script load(File file) {
    def text = file.readLines().collect { it.startsWith("#@") ? "" : it }.join("\n")
    return new GroovyShell(new Binding()).parse(text, file.name.replace(".groovy", "").replace("-", "_"))
}

// ------------------------------------------------------------------ both scripts compile
def restore = load(new File(repo, "lumicare_ij/fiji_scripts/restore_folder.groovy"))
def analysis = load(new File(repo, "lumicare_ij/fiji_scripts/paper_analysis.groovy"))
out("parsed", "restore_folder,paper_analysis")
out("imagej_version", IJ.getVersion())

// ------------------------------------------------------------------ restore_folder
def inputs = restore.pluginInputs(new File(work, "model.zip"), 8, 32)
inputs.each { k, v -> out("plugin_input." + k, v.getClass().simpleName + ":" + v) }
out("plugin_command", restore.csbdeepCommand())

def inDir = new File(work, "stacks")
def outDir = new File(work, "restored")
inDir.mkdirs()
["b_stack.tif", "a_stack.TIFF"].eachWithIndex { String name, int i ->
    def imp = IJ.createImage(name, "16-bit ramp", 40, 30, 3)
    def cal = new Calibration()
    cal.pixelWidth = 0.65; cal.pixelHeight = 0.65; cal.pixelDepth = 2.0; cal.setUnit("micron")
    imp.setCalibration(cal)
    def saved = new File(inDir, "tmp" + i + ".tif")
    IJ.saveAsTiff(imp, saved.path)
    saved.renameTo(new File(inDir, name))            // ImageJ itself would name it .tif
}
new File(inDir, "notes.txt").text = "not an image"
new File(inDir, ".hidden.tif").text = "not an image either"
out("tiff_files", restore.tiffFiles(inDir)*.name.join(","))
out("output_name", restore.outputFileFor(new File("x/cell 1.tiff"), outDir).name)

// A stand-in network: 32-bit copy times 2 (the real one returns the plugin's Dataset output).
def doubled = { ImagePlus imp ->
    def copy = imp.duplicate()
    IJ.run(copy, "32-bit", "")
    IJ.run(copy, "Multiply...", "value=2 stack")
    return copy
}
def rows = restore.restoreFolder(inDir, outDir, false, doubled)
rows.each { out("restore_row", it.join("|")) }
def result = IJ.openImage(new File(outDir, "a_stack.tif").path)
def original = IJ.openImage(new File(inDir, "a_stack.TIFF").path)
out("result_dims", [result.width, result.height, result.stackSize, result.bitDepth].join(","))
out("result_calibration", [result.calibration.pixelWidth, result.calibration.pixelDepth, result.calibration.unit].join(","))
result.setSlice(2); original.setSlice(2)
out("result_pixel_ratio", result.getProcessor().getPixelValue(17, 5) / original.getProcessor().getPixelValue(17, 5))
out("log_table", new File(outDir, "restore_log.csv").readLines().join("|"))
rows = restore.restoreFolder(inDir, outDir, false, doubled)
out("second_run", rows.collect { it[1] }.join(","))
def broken = { ImagePlus imp -> throw new IllegalStateException("network failed on " + imp.title) }
def outDir2 = new File(work, "restored_failing")
rows = restore.restoreFolder(inDir, outDir2, false, broken)
out("failing_run", rows.collect { it[1] + ":" + it[3] }.join(","))
out("failing_outputs", outDir2.list().sort().join(","))
try {
    restore.restoreFolder(inDir, inDir, true, doubled)
    out("same_folder", "accepted")
} catch (IllegalArgumentException e) {
    out("same_folder", e.message)
}

// The CSBDeep call, with stand-in CommandService / ConvertService / module.
def calls = []
def fakeModule = new FakeModule(outputs: [output: "DATASET-OUTPUT"])
def fakeCommand = new FakeCommand(calls: calls, module: fakeModule)
def restoredImp = IJ.createImage("restored", "32-bit black", 8, 8, 2)
def fakeConvert = new FakeConvert(calls: calls, restored: restoredImp)
def got = restore.runNetwork(IJ.createImage("in", "16-bit ramp", 8, 8, 2), inputs, fakeCommand, fakeConvert, Object)
def (name, process, values) = calls.find { it[0] != "convert" }
out("network_command", name)
out("network_process", process)
out("network_input", values.input)
out("network_keys", values.keySet().sort().join(","))
out("network_result", got.is(restoredImp))
out("network_conversions", calls.findAll { it[0] == "convert" }.collect { it[1] + "->" + it[2] }.join(","))
def emptyCommand = new FakeCommand(calls: [], module: new FakeModule(outputs: [:]))
try {
    restore.runNetwork(IJ.createImage("in", "16-bit ramp", 8, 8, 2), inputs, emptyCommand, fakeConvert, Object)
    out("no_output", "accepted")
} catch (IllegalStateException e) {
    out("no_output", e.message)
}

// ------------------------------------------------------------------ paper_analysis
def truth = new File(work, "truth")
def scored = new File(work, "scored")
def results = new File(work, "results")
[truth, scored].each { it.mkdirs() }
[["cells_1.tif", 10], ["cells_2.tif", 30]].each { String fileName, int shift ->
    [truth, scored].eachWithIndex { File folder, int k ->
        def imp = IJ.createImage(fileName, "16-bit black", 96, 96, 1)
        def ip = imp.getProcessor()
        ip.setValue(1000 + 200 * k)
        ip.fillOval(shift, 20, 30 + 4 * k, 30)          // one blob per image, slightly larger in "scored"
        ip.fillOval(55, 50 + shift / 5 as int, 25, 25)
        ip.setValue(100)
        ip.fillOval(5, 70, 4, 4)                         // a speck below the size limits
        IJ.saveAsTiff(imp, new File(folder, fileName).path)
    }
}
def all = analysis.analyses(truth, scored, results, true)
out("analysis_names", all*.name.join("|"))
all.each { out("macro_argument." + it.macro, analysis.macroArgument(it.args)) }
out("macro_argument_no_masks", analysis.macroArgument(analysis.analyses(truth, scored, results, false)[0].args))
try {
    analysis.selected(all, "Figure 3")
    out("unknown_choice", "accepted")
} catch (IllegalArgumentException e) {
    out("unknown_choice", e.message)
}
out("problems_ok", analysis.problems(truth, scored, new File(repo, "lumicare_ij/ijm"), all).join("|"))
new File(work, "truth_incomplete").mkdirs()
out("problems_missing", analysis.problems(new File(work, "truth_incomplete"), scored, new File(work, "nowhere"),
        analysis.selected(all, "mask MAE (Figure 1)")).join("|"))

// The real macros, in this ImageJ, through the script's own runner.
def ran = analysis.runAnalyses(all, new File(repo, "lumicare_ij/ijm"), results,
        { File macro, String argument -> IJ.runMacroFile(macro.path, argument) })
ran.each { out("analysis_row", it.join("|")) }
results.listFiles().findAll { it.name.endsWith(".csv") }.sort { it.name }.each { File f ->
    out("table." + f.name, f.readLines().size() + " lines; " + f.readLines()[0])
}
out("mask_folders", results.listFiles().findAll { it.isDirectory() }*.name.sort().join(","))
def aborted = analysis.runAnalyses(analysis.selected(all, "mask MAE (Figure 1)"), new File(repo, "lumicare_ij/ijm"),
        new File(work, "results_aborted"), { File m, String a -> "[aborted]" })
out("aborted_row", aborted[0].join("|"))
out("done", "yes")
System.exit(0)

// Stand-ins for SciJava's CommandService, its Future<CommandModule> and ConvertService.
class FakeModule {
    Map outputs
    Object getOutput(String key) { outputs[key] }
}

class FakeFuture {
    Object value
    Object get() { value }
}

class FakeCommand {
    List calls
    FakeModule module
    FakeFuture run(String name, boolean process, Map values) {
        calls << [name, process, values]
        return new FakeFuture(value: module)
    }
}

class FakeConvert {
    List calls
    ImagePlus restored
    Object convert(Object value, Class type) {
        calls << ["convert", value instanceof ImagePlus ? "ImagePlus" : value, type.simpleName]
        return value instanceof ImagePlus ? "DATASET-INPUT" : restored
    }
}
