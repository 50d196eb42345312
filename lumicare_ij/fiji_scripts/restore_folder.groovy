#@ File (label = "Model ZIP (lumicare export --format csbdeep-fiji)", style = "file") modelFile
#@ File (label = "Folder with the stacks to restore", style = "directory") inputDir
#@ File (label = "Folder for the restored stacks", style = "directory") outputDir
#@ Integer (label = "Number of tiles (8: the plugin's default)", value = 8, min = 1) nTiles
#@ Integer (label = "Overlap between tiles (px)", value = 32, min = 0) overlap
#@ Boolean (label = "Replace restored stacks that already exist", value = false) overwrite
#@ CommandService command
#@ ConvertService convert

/*
 * restore_folder.groovy - restore every TIFF stack of a folder with a CARE model exported by
 * lumicare-ij, through the CSBDeep plugin ("Plugins > CSBDeep > Run your network").
 *
 * Needs Fiji with the CSBDeep update site (Help > Update... > Manage update sites > CSBDeep).
 * Open this file in Fiji's script editor (File > Open...) and press Run.
 *
 * For each .tif/.tiff in the input folder: open it, run de.csbdresden.csbdeep.commands.GenericNetwork
 * with the plugin's own defaults written out (normalise with the 3.0 / 99.8 percentiles of the
 * whole image, no clipping, tiles of a multiple of 32 px with 32 px overlap, batch size 1, no
 * progress dialog), copy the input's calibration to the result and save it as a 32-bit TIFF with
 * the same name in the output folder (written to a temporary file first, then renamed, so a
 * cancelled run never leaves half a file). Existing results are skipped unless "Replace" is on.
 * A table restore_log.csv in the output folder lists every file with its status.
 *
 * The results are on the plugin's normalised scale (0 = 3rd percentile, 1 = 99.8th percentile
 * of the input), not in camera counts: the plugin does not map its output back. lumicare-ij's
 * Python function lumicare_ij.export.fiji_parity.predict_like_fiji reproduces these numbers.
 *
 * The paper used 2 x 2 x 2 tiles in Python; the plugin chooses its own tile grid from the
 * number of tiles (Z is not split for stacks of up to 32 planes).
 */

import ij.IJ
import ij.ImagePlus

/** The CSBDeep plugin's command ("Run your network"); mpicbg.csbd.* is only a stub in CSBDeep 0.6. */
String csbdeepCommand() {
    return "de.csbdresden.csbdeep.commands.GenericNetwork"
}

/** Inputs of the CSBDeep command: the plugin's defaults, written out so that they cannot drift. */
Map pluginInputs(File model, int tiles, int tileOverlap) {
    return [
        modelFile         : model,
        normalizeInput    : true,
        percentileBottom  : 3.0f,
        percentileTop     : 99.8f,
        clip              : false,
        nTiles            : tiles,
        blockMultiple     : 32,
        overlap           : tileOverlap,
        batchSize         : 1,
        showProgressDialog: false,
    ]
}

/** The .tif/.tiff files of a folder, sorted by name (hidden and temporary files left out). */
List<File> tiffFiles(File folder) {
    if (folder == null || !folder.isDirectory()) {
        throw new IllegalArgumentException("Not a folder: " + folder)
    }
    def files = folder.listFiles().findAll { File f ->
        f.isFile() && !f.name.startsWith(".") && f.name.toLowerCase() ==~ /.*\.tiff?/
    }
    return files.sort { it.name }
}

/** Where the result of an input goes: same base name, .tif, in the output folder. */
File outputFileFor(File input, File folder) {
    def base = input.name.replaceFirst(/(?i)\.tiff?$/, "")
    return new File(folder, base + ".tif")
}

/** Save as TIFF through a temporary file in the same folder, then rename (no partial files). */
void saveAtomically(ImagePlus imp, File target) {
    def tmp = new File(target.parentFile, "." + target.name + ".part.tif")
    if (!IJ.saveAsTiff(imp, tmp.path)) {
        tmp.delete()
        throw new IOException("Could not write " + tmp)
    }
    if (target.exists() && !target.delete()) {
        tmp.delete()
        throw new IOException("Could not replace " + target)
    }
    if (!tmp.renameTo(target)) {
        tmp.delete()
        throw new IOException("Could not rename " + tmp + " to " + target)
    }
}

/** Run the CSBDeep command on one image; return the output as an ImagePlus. */
ImagePlus runNetwork(ImagePlus imp, Map inputs, commandService, convertService, Class datasetClass) {
    def dataset = convertService.convert(imp, datasetClass)
    if (dataset == null) {
        throw new IllegalStateException("Could not convert " + imp.title + " to an ImageJ2 Dataset.")
    }
    def all = new LinkedHashMap(inputs)
    all.put("input", dataset)
    def module = commandService.run(csbdeepCommand(), false, all).get()
    def output = module == null ? null : module.getOutput("output")
    if (output == null) {
        throw new IllegalStateException("The CSBDeep plugin returned no output for " + imp.title
                + "; see the Console and Log windows (is the CSBDeep update site on, and the model a "
                + "lumicare-ij export?).")
    }
    ImagePlus result = convertService.convert(output, ImagePlus)
    if (result == null) {
        throw new IllegalStateException("Could not convert the CSBDeep output of " + imp.title + " to an image.")
    }
    return result
}

/**
 * Restore every TIFF of inputDir into outputDir with restore(ImagePlus) -> ImagePlus.
 * Returns one row per file: [file, status, seconds, message]; also written to restore_log.csv.
 */
List<List> restoreFolder(File inputs, File outputs, boolean replace, Closure restore) {
    def files = tiffFiles(inputs)
    if (files.isEmpty()) {
        throw new IllegalArgumentException("No .tif/.tiff files in " + inputs)
    }
    if (inputs.canonicalFile == outputs.canonicalFile) {
        throw new IllegalArgumentException("Choose an output folder other than the input folder.")
    }
    outputs.mkdirs()
    def rows = []
    files.eachWithIndex { File file, int i ->
        def target = outputFileFor(file, outputs)
        IJ.showStatus("lumicare restore " + (i + 1) + "/" + files.size() + ": " + file.name)
        IJ.showProgress(i, files.size())
        if (target.exists() && !replace) {
            rows << [file.name, "skipped (exists)", 0, ""]
            return
        }
        long start = System.currentTimeMillis()
        try {
            def imp = IJ.openImage(file.path)
            if (imp == null) {
                throw new IOException("ImageJ could not open it")
            }
            def result = restore(imp)
            result.setCalibration(imp.getCalibration().copy())
            result.setTitle(target.name)
            saveAtomically(result, target)
            rows << [file.name, "restored", (System.currentTimeMillis() - start) / 1000.0, ""]
            imp.close()
            result.close()
        } catch (Exception e) {
            rows << [file.name, "failed", (System.currentTimeMillis() - start) / 1000.0, e.message ?: e.toString()]
            IJ.log("lumicare restore: " + file.name + " failed: " + (e.message ?: e.toString()))
        }
    }
    IJ.showProgress(1.0)
    writeLog(rows, new File(outputs, "restore_log.csv"))
    return rows
}

void writeLog(List<List> rows, File table) {
    def quote = { v -> '"' + String.valueOf(v).replace('"', '""') + '"' }
    def lines = ["file,status,seconds,message"]
    rows.each { row -> lines << [quote(row[0]), quote(row[1]), row[2], quote(row[3])].join(",") }
    def tmp = new File(table.parentFile, "." + table.name + ".part")
    tmp.text = lines.join("\n") + "\n"
    if (table.exists()) table.delete()
    tmp.renameTo(table)
}

// ------------------------------------------------------------------ main (Fiji only)
if (!modelFile.isFile()) {
    throw new IllegalArgumentException("Model file not found: " + modelFile)
}
def datasetClass = Class.forName("net.imagej.Dataset")
def inputs = pluginInputs(modelFile, nTiles, overlap)
def rows = restoreFolder(inputDir, outputDir, overwrite,
        { ImagePlus imp -> runNetwork(imp, inputs, command, convert, datasetClass) })
def failed = rows.count { it[1] == "failed" }
IJ.log("lumicare restore: " + rows.count { it[1] == "restored" } + " restored, "
        + rows.count { it[1].startsWith("skipped") } + " skipped, " + failed + " failed; see "
        + new File(outputDir, "restore_log.csv"))
