// mask_mae.ijm - Figure 1 of the paper: MAE between cell masks of a reference and a test image.
//
// For every .tif/.tiff in the reference folder (ground truth) and the file of the same
// name in the test folder (input or restoration), each image is turned into a cell mask:
//   1. Image > Type > 16-bit, "Scale when converting" on; the display range used is
//      the min/max of the whole image or stack (NaN ignored); 8/16-bit data are kept.
//   2. setAutoThreshold("Mean dark") + Process > Binary > Convert to Mask.
//      A stack is thresholded slice by slice ("Calculate threshold for each image").
//   3. Analyze > Analyze Particles, size=100-Infinity (pixels, inclusive), show=Masks.
// and the mean absolute error between the two masks is written to a CSV table:
//   MAE = mean over all pixels of |reference mask - test mask|  (0 = same, 255 = all differ)
//
// NOTE ON THE MAE: the paper used the SNR plugin (D. Sage, BIG/EPFL), a Fiji plugin that
// plain ImageJ lacks. This macro does NOT call it: it computes the plugin's published MAE
// formula with core ImageJ commands - imageCalculator("Difference create stack") and the
// mean of the difference image (Stack.getStatistics). The table says so in its
// "mae_source" column. The paper inverted both masks first; that does not change the MAE
// and is skipped here.
//
// Same numbers as lumicare_ij.analysis.mask_mae_between(reference, test, min_size_px,
// projection=...) and masks as lumicare_ij.analysis.cell_mask (engine="numpy" or "imagej").
//
// Interactive use (Fiji or ImageJ 1.53t): run it with no argument (Plugins > LumiCARE after
// 'lumicare fiji install', or Run in the macro editor): a dialog asks for the folders
// and offers the paper's settings as defaults (no dialog if you type the folders into the
// parameters below). From another macro, the dialog's fields are
// the same keys: run("Mask MAE", "key=value ...").
// Batch use: key=value pairs as the macro argument (values with spaces in [ ]):
//   ImageJ -batch mask_mae.ijm "reference=[/data/gt] test=[/data/care] table=[/data/mae.csv]"
//   or from Python: lumicare_ij.macros.run_macro("mask_mae", {...})
//
// Requires ImageJ 1.53t or later core commands only (no Fiji plugin).

// ---------------------------------------------------------------- parameters
var reference = "";      // folder with the reference (ground-truth) images ("" = the dialog asks)
var test = "";           // folder with the test images, same file names ("" = the dialog asks)
var table = "";          // CSV file for the results ("" = mae.csv in the test folder)
var masks = "";          // optional folder: save every mask as <name>_reference.tif / <name>_test.tif
var min_size = 100;      // Analyze Particles lower size limit in pixels (inclusive; "100-Infinity")
var projection = "none"; // "none": threshold every slice of a stack; "max": use the Z max projection
// ----------------------------------------------------------------------------

var ARGS = "";  // the macro argument, visible to the helper functions
ARGS = getArgument();
reference = argString("reference", reference);
test = argString("test", test);
table = argString("table", table);
masks = argString("masks", masks);
min_size = argNumber("min_size", min_size);
projection = toLowerCase(argString("projection", projection));

// No argument and no folder typed in above: Plugins > LumiCARE, the macro editor, or run() with options.
if (ARGS == "" && (reference == "" || test == "")) askSettings();
if (!File.isDirectory(reference)) fail("reference folder not found: " + reference);
if (!File.isDirectory(test)) fail("test folder not found: " + test);
if (table == "") table = joinPath(test, "mae.csv");
if (projection != "none" && projection != "max") fail("projection must be none or max, got " + projection);
if (min_size < 0) fail("min_size must be >= 0");
if (masks != "" && !File.isDirectory(masks)) File.makeDirectory(masks);

MAE_SOURCE = "ImageJ macro: mean(|reference - test|) by imageCalculator Difference + statistics (SNR-plugin formula; not the Fiji SNR plugin)";

setBatchMode(true);
setOption("ScaleConversions", true);   // Edit > Options > Conversions: scale when converting
setOption("BlackBackground", true);    // Process > Binary > Options: masks are 255 on 0

files = tifList(reference);
if (files.length == 0) fail("no .tif files in " + reference);
for (i = 0; i < files.length; i++)
    if (!File.exists(joinPath(test, files[i]))) fail("no test image " + joinPath(test, files[i]) + " for reference " + files[i]);

names = newArray(files.length);
maes = newArray(files.length);
counts = newArray(files.length);
for (i = 0; i < files.length; i++) {
    name = files[i];
    refMask = cellMask(joinPath(reference, name));
    refSize = imageSize();
    testMask = cellMask(joinPath(test, name));
    if (imageSize() != refSize) fail(name + ": reference and test images differ in size");
    if (masks != "") {
        base = stem(name);
        selectImage(refMask);
        saveAs("Tiff", joinPath(masks, base + "_reference.tif"));
        selectImage(testMask);
        saveAs("Tiff", joinPath(masks, base + "_test.tif"));
    }
    // MAE: mean of |reference - test| over all pixels (8-bit difference is exact: 0 or 255).
    imageCalculator("Difference create stack", refMask, testMask);
    if (nSlices > 1)
        Stack.getStatistics(voxelCount, mean);
    else
        getStatistics(area, mean);
    close();
    selectImage(refMask); close();
    selectImage(testMask); close();
    names[i] = name;
    maes[i] = mean;
    counts[i] = refSize;
    print(name + ": MAE = " + fmt(mean));
}

f = File.open(table);
print(f, "image,mae,n_pixels,min_size_px,projection,mae_source");
for (i = 0; i < files.length; i++)
    print(f, "" + csvText(names[i]) + "," + fmt(maes[i]) + "," + counts[i] + "," + fmtParameter(min_size) + "," + projection + "," + csvText(MAE_SOURCE));
File.close(f);
setBatchMode(false);
if (ARGS == "") {
    Table.create("MAE between cell masks");
    Table.setColumn("image", names);
    Table.setColumn("mae", maes);
    Table.update;
}
print("mask_mae: " + files.length + " pair(s); table written to " + table);

// The settings dialog (no macro argument). Each label's first word is the key of the batch
// argument, so run("Mask MAE", "reference=[...] test=[...]") fills it without showing it.
function askSettings() {
    Dialog.create("Mask MAE between cell masks (Figure 1)");
    Dialog.addMessage("Each reference image and the test image of the same name become cell masks:\n"
        + "16-bit (scaled), Mean threshold on a dark background, particles of at least 'Min size' pixels.\n"
        + "MAE = mean |reference mask - test mask| over all pixels: 0 = the same cells, 255 = all differ.");
    Dialog.addDirectory("Reference folder (ground truth, e.g. the 60 s exposures)", reference);
    Dialog.addDirectory("Test folder (raw or restored images, same file names)", test);
    Dialog.addString("Table (CSV file; empty = mae.csv in the test folder)", table, 40);
    Dialog.addDirectory("Masks folder (optional: save every mask)", masks);
    Dialog.addNumber("Min_size", min_size, 0, 6, "pixels (paper: 100; smaller particles are dropped)");
    Dialog.addChoice("Projection", newArray("none", "max"), projection);
    Dialog.addMessage("Projection: none = threshold every plane of a stack; max = Z maximum projection first.");
    Dialog.show();
    reference = Dialog.getString();
    test = Dialog.getString();
    table = Dialog.getString();
    masks = Dialog.getString();
    min_size = Dialog.getNumber();
    projection = Dialog.getChoice();
}

// ---------------------------------------------------------------- analysis steps
// Opens a file and returns the ID of its cell mask (all intermediate images closed).
function cellMask(path) {
    open(path);
    checkImage(path);
    original = getImageID();
    if (projection == "max" && nSlices > 1) {
        run("Z Project...", "projection=[Max Intensity]");
        projected = getImageID();
        selectImage(original); close();
        selectImage(projected);
    }
    work = getImageID();
    // 16-bit with the whole stack's range (NaN ignored), as lumicare_ij.ijops.convert_to_16bit.
    if (bitDepth() == 32) {
        wholeStackRange();
    }
    run("16-bit");
    if (nSlices > 1) {
        // "Calculate threshold for each image": each slice gets its own Mean threshold.
        run("Convert to Mask", "method=Mean background=Dark calculate black");
    } else {
        setAutoThreshold("Mean dark");
        run("Convert to Mask");
    }
    setThreshold(255, 255);
    options = "size=" + min_size + "-Infinity pixel show=Masks";
    if (nSlices > 1) options = options + " stack";
    run("Analyze Particles...", options);
    mask = getImageID();
    selectImage(work); close();
    selectImage(mask);
    return mask;
}

// Sets the display range of a 32-bit image/stack to the min and max of all its pixels.
// resetMinAndMax() gives each slice's data range (NaN ignored, +-Infinity included).
function wholeStackRange() {
    lo = NaN; hi = NaN;
    for (s = 1; s <= nSlices; s++) {
        setSlice(s);
        resetMinAndMax();
        getMinAndMax(smin, smax);
        if (!isNaN(smin) && (isNaN(lo) || smin < lo)) lo = smin;
        if (!isNaN(smax) && (isNaN(hi) || smax > hi)) hi = smax;
    }
    setSlice(1);
    if (!isNaN(lo)) setMinAndMax(lo, hi);
}

function imageSize() {
    return getWidth() * getHeight() * nSlices;
}

// ---------------------------------------------------------------- helpers
// Arguments "key=value key2=[value with spaces]" are parsed by ImageJ's own
// ij.Macro.getValue, the parser that reads run(...) option strings.
function argString(key, value) {
    if (ARGS == "") return value;
    return call("ij.Macro.getValue", ARGS, key, "" + value);
}
function argNumber(key, value) {
    text = argString(key, "" + value);
    number = parseFloat(text);
    if (isNaN(number)) fail(key + " must be a number, got '" + text + "'");
    return number;
}
function fail(message) {
    // In batch mode (ImageJ -batch) exit() prints the message and stops; in
    // Fiji it shows it in a dialog. lumicare_ij.macros reports "ERROR:" lines.
    setBatchMode(false);
    exit("ERROR: " + message);
}
// Full double precision whatever the locale: 17 significant digits, '.' as decimal mark.
function fmt(x) {
    return replace(String.format("%.17g", x), ",", ".");
}
// A parameter as typed: whole numbers without decimals.
function fmtParameter(x) {
    if (x == round(x)) return d2s(x, 0);
    return fmt(x);
}
function csvText(text) {
    if (indexOf(text, ",") >= 0 || indexOf(text, "\"") >= 0)
        return "\"" + replace(text, "\"", "\"\"") + "\"";
    return text;
}
function tifList(dir) {
    all = getFileList(dir);
    kept = newArray(0);
    for (j = 0; j < all.length; j++) {
        lower = toLowerCase(all[j]);
        if (!startsWith(all[j], ".") && (endsWith(lower, ".tif") || endsWith(lower, ".tiff")))
            kept = Array.concat(kept, all[j]);
    }
    Array.sort(kept);
    return kept;
}
function joinPath(dir, name) {
    if (endsWith(dir, "/") || endsWith(dir, File.separator)) return dir + name;
    return dir + File.separator + name;
}
function stem(name) {
    dot = lastIndexOf(name, ".");
    if (dot > 0) return substring(name, 0, dot);
    return name;
}
function checkImage(name) {
    if (bitDepth() == 24) fail(name + " is RGB; convert it to 8/16/32-bit grey first");
    getDimensions(w, h, c, z, t);
    if (c > 1 || t > 1)
        fail(name + " has " + c + " channels and " + t + " frames; give single-channel z-stacks");
}
