#@ File (label = "Ground-truth folder (long exposure or fluorescence)", style = "directory") truthDir
#@ File (label = "Folder to score (restorations or raw short exposures; same file names)", style = "directory") testDir
#@ File (label = "Folder for the result tables", style = "directory") resultsDir
#@ String (label = "Analysis", choices = {"all", "mask MAE (Figure 1)", "nuclear Pearson (Figure 2a)", "mitochondrial morphology (Figure 2b)"}, value = "all") analysis
#@ File (label = "lumicare-ij macros folder (Fiji.app/scripts/Plugins/LumiCARE after 'lumicare fiji install', or lumicare_ij/ijm/)", style = "directory") macroDir
#@ Boolean (label = "Also save the masks", value = false) saveMasks

/*
 * paper_analysis.groovy - the readouts of Boothe et al. (luminescence CARE) in Fiji, through
 * lumicare-ij's ImageJ macros (lumicare_ij/ijm/*.ijm), which use core ImageJ commands only.
 *
 *   mask MAE (Figure 1)                  mask_mae.ijm:        reference = ground truth, test = scored folder
 *   nuclear Pearson (Figure 2a)          nuclear_pearson.ijm: images = scored folder, truth = ground truth
 *   mitochondrial morphology (Figure 2b) mito_morphology.ijm: input = scored folder
 *
 * Each macro writes a CSV table into the results folder (mask_mae.csv, nuclear_pearson.csv,
 * mito_morphology.csv and mito_particles.csv) and, with "Also save the masks", the masks into
 * results/masks_<analysis>/. The macros' other settings (particle sizes, threshold methods)
 * keep their defaults, which are the paper's; see lumicare_ij/ijm/README.md and the macros' headers.
 * The same numbers come from lumicare_ij.analysis in Python.
 *
 * Open this file in Fiji's script editor (File > Open...) and press Run. Works in plain ImageJ
 * 1.53t with a script editor too: no Fiji plugin is used.
 */

import ij.IJ

/** The three analyses: macro file and the macro's key=value argument for the chosen folders. */
List<Map> analyses(File truth, File test, File results, boolean masks) {
    def maskDir = { String name -> masks ? new File(results, "masks_" + name).path : "" }
    return [
        [name : "mask MAE (Figure 1)", macro: "mask_mae.ijm", installed: "Mask_MAE.ijm", tables: ["mask_mae.csv"],
         args : [reference: truth.path, test: test.path, table: new File(results, "mask_mae.csv").path,
                 masks    : maskDir("mask_mae")]],
        [name : "nuclear Pearson (Figure 2a)", macro: "nuclear_pearson.ijm", installed: "Nuclear_Pearson.ijm", tables: ["nuclear_pearson.csv"],
         args : [images: test.path, truth: truth.path, table: new File(results, "nuclear_pearson.csv").path,
                 masks : maskDir("nuclear_pearson")]],
        [name : "mitochondrial morphology (Figure 2b)", macro: "mito_morphology.ijm", installed: "Mito_Morphology.ijm",
         tables: ["mito_morphology.csv", "mito_particles.csv"],
         args : [input    : test.path, table: new File(results, "mito_morphology.csv").path,
                 particles: new File(results, "mito_particles.csv").path, masks: maskDir("mito_morphology")]],
    ]
}

/** The analysis' macro in ``macros``: its name in lumicare_ij/ijm/, or its menu name once installed into Fiji. */
File macroFile(File macros, Map a) {
    def installed = new File(macros, a.installed)
    return installed.isFile() ? installed : new File(macros, a.macro)
}

/** key=value pairs as ImageJ option strings write them: values in [ ], empty values left out. */
String macroArgument(Map args) {
    return args.findAll { k, v -> v != null && String.valueOf(v) != "" }
               .collect { k, v -> k + "=[" + v + "]" }.join(" ")
}

/** The analyses to run for the "Analysis" choice. */
List<Map> selected(List<Map> all, String choice) {
    if (choice == "all") return all
    def chosen = all.findAll { it.name == choice }
    if (chosen.isEmpty()) {
        throw new IllegalArgumentException("Unknown analysis '" + choice + "'; choose one of: all, "
                + all.collect { it.name }.join(", "))
    }
    return chosen
}

/** Check the folders before any macro runs; return the problems (empty if none). */
List<String> problems(File truth, File test, File macros, List<Map> chosen) {
    def found = []
    [truth, test].each { File d -> if (d == null || !d.isDirectory()) found << ("Not a folder: " + d) }
    chosen.each { Map a ->
        def macro = macroFile(macros, a)
        if (!macro.isFile()) found << ("Macro not found: " + macro + " (choose Plugins/LumiCARE of a Fiji with "
                                       + "'lumicare fiji install', or lumicare-ij's lumicare_ij/ijm/ folder)")
    }
    if (test != null && test.isDirectory()) {
        def names = test.list().findAll { it.toLowerCase() ==~ /[^.].*\.tiff?/ }
        if (names.isEmpty()) found << ("No .tif/.tiff files in " + test)
        def needsTruth = chosen.any { it.args.containsKey("reference") || it.args.containsKey("truth") }
        if (needsTruth && truth != null && truth.isDirectory()) {
            def missing = names.findAll { !new File(truth, it).isFile() }
            if (!missing.isEmpty()) found << ("No ground truth of the same name for: " + missing.join(", "))
        }
    }
    return found
}

/**
 * Run the chosen analyses with runMacro(File macro, String argument) -> String (IJ.runMacroFile
 * in Fiji). Returns one row per analysis: [name, status, tables]. A macro that stops with
 * "ERROR: ..." (its way to report bad input) or writes no table counts as failed.
 */
List<List> runAnalyses(List<Map> chosen, File macros, File results, Closure runMacro) {
    results.mkdirs()
    def rows = []
    chosen.each { Map a ->
        IJ.showStatus("lumicare analysis: " + a.name)
        def tables = a.tables.collect { new File(results, it) }
        tables.each { it.delete() }
        def returned = runMacro(macroFile(macros, a), macroArgument(a.args))
        def text = returned == null ? "" : String.valueOf(returned)
        def missing = tables.findAll { !it.isFile() }
        if (text.startsWith("[aborted]") || text.contains("ERROR:") || !missing.isEmpty()) {
            rows << [a.name, "failed" + (text ? ": " + text : "") + (missing ? " (no " + missing*.name.join(", ") + ")" : ""),
                     ""]
        } else {
            rows << [a.name, "done", tables*.path.join(", ")]
        }
    }
    return rows
}

// ------------------------------------------------------------------ main
def chosen = selected(analyses(truthDir, testDir, resultsDir, saveMasks), analysis)
def found = problems(truthDir, testDir, macroDir, chosen)
if (!found.isEmpty()) {
    throw new IllegalArgumentException(found.join("\n"))
}
def rows = runAnalyses(chosen, macroDir, resultsDir, { File macro, String argument ->
    IJ.runMacroFile(macro.path, argument)
})
rows.each { IJ.log("lumicare analysis: " + it[0] + ": " + it[1] + (it[2] ? " -> " + it[2] : "")) }
