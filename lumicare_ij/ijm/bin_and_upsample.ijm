// bin_and_upsample.ijm - training inputs for the "upsample" regime of lumicare_ij.
//
// For every .tif/.tiff in the input folder:
//   1. Image > Transform > Bin...        (average, factor k in X and Y; optional Z factor)
//   2. Image > Adjust > Size...          (interpolation: None) back to the original size
//   3. File > Save As > Tiff...          into the output folder, same file name
//
// Same pixels as lumicare_ij.ijops.bin(image, xy=k, z=kz, method="average") followed by
// lumicare_ij.ijops.upsample_nearest(binned, image.shape). Leftover rows/columns that do
// not fill a whole bin are dropped by Bin; Size then stretches the binned image back to
// the original size with ImageJ's nearest-neighbour rule (for sizes that are multiples
// of k this is a plain k-fold pixel repeat). The data type is kept (8/16/32-bit).
// With zfactor > 1 stacks are binned in Z too (same method) and stretched back to their
// depth; 2D images in the same folder are binned in X and Y only.
//
// Interactive use (Fiji or ImageJ 1.53t): run it with no argument (Plugins > LumiCARE after
// 'lumicare fiji install', or Run in the macro editor): a dialog asks for the folders
// and offers the paper's settings as defaults (no dialog if you type the folders into the
// parameters below). From another macro, the dialog's fields are
// the same keys: run("Bin and Upsample", "key=value ...").
// Batch use: pass key=value pairs as the macro argument (values with spaces in [ ]):
//   ImageJ -batch bin_and_upsample.ijm "input=[/data/gt] output=[/data/binned4] factor=4"
//   or from Python: lumicare_ij.macros.run_macro("bin_and_upsample", {...})
//
// Requires ImageJ 1.53t or later core commands only (no Fiji plugin).

// ---------------------------------------------------------------- parameters
var input = "";          // folder with the original images ("" = the dialog asks)
var output = "";         // folder for the binned-and-upsampled images ("" = the dialog asks; created if missing)
var factor = 4;          // bin factor in X and Y (integer >= 1)
var zfactor = 1;         // bin factor in Z for stacks (1 = none; >1 also bins and restores Z; 2D images: ignored)
var overwrite = false;   // replace existing files in the output folder
// ----------------------------------------------------------------------------

var ARGS = "";  // the macro argument, visible to the helper functions
ARGS = getArgument();
input = argString("input", input);
output = argString("output", output);
factor = argInteger("factor", factor);
zfactor = argInteger("zfactor", zfactor);
overwrite = argBoolean("overwrite", overwrite);

// No argument and no folder typed in above: Plugins > LumiCARE, the macro editor, or run() with options.
if (ARGS == "" && (input == "" || output == "")) askSettings();
if (!File.isDirectory(input)) fail("input folder not found: " + input);
if (output == "") fail("choose an output folder");
if (factor < 1 || zfactor < 1 || factor != round(factor) || zfactor != round(zfactor))
    fail("factor and zfactor must be whole numbers >= 1");
if (!File.isDirectory(output)) File.makeDirectory(output);
if (!File.isDirectory(output)) fail("cannot create the output folder " + output);
if (same(input, output)) fail("output folder must differ from the input folder");

setBatchMode(true);
setOption("ScaleConversions", true);
files = tifList(input);
if (files.length == 0) fail("no .tif files in " + input);
for (i = 0; i < files.length; i++) {
    name = files[i];
    target = joinPath(output, name);
    if (File.exists(target) && !overwrite)
        fail(target + " already exists; pass overwrite=true to replace it");
    open(joinPath(input, name));
    checkImage(name);
    getDimensions(width, height, channels, depth, frames);
    kz = zfactor;
    if (depth == 1) kz = 1;   // a 2D image has no Z to bin
    if (factor > width || factor > height || kz > depth)
        fail(name + ": bin factors larger than the image (" + width + "x" + height + "x" + depth + ")");
    // Bin: average of each k x k (x kz) block; 8/16-bit results rounded as ImageJ does.
    run("Bin...", "x=" + factor + " y=" + factor + " z=" + kz + " bin=Average");
    // Back to the original size without interpolation (constrain/average off).
    run("Size...", "width=" + width + " height=" + height + " depth=" + depth + " interpolation=None");
    saveAs("Tiff", target);
    close();
    print("binned " + factor + "x" + factor + "x" + kz + " and upsampled: " + name);
}
setBatchMode(false);
print("bin_and_upsample: " + files.length + " file(s) written to " + output);

// The settings dialog (no macro argument). Each label's first word is the key of the batch
// argument, so run("Bin and Upsample", "input=[...] output=[...] factor=4") fills it without showing it.
function askSettings() {
    Dialog.create("Bin and upsample (inputs of the upsample regime)");
    Dialog.addMessage("Each image is binned (average of factor x factor pixels, as Image > Transform > Bin)\n"
        + "and stretched back to its size without interpolation: what a binned acquisition looks like\n"
        + "at full resolution. The paper trained on 2x2 to 8x8 binning.");
    Dialog.addDirectory("Input folder (the original images)", input);
    Dialog.addDirectory("Output folder (created if missing; same file names)", output);
    Dialog.addNumber("Factor", factor, 0, 4, "bin factor in X and Y (paper: 2, 4 or 8)");
    Dialog.addNumber("Zfactor", zfactor, 0, 4, "bin factor in Z for stacks (1 = none)");
    Dialog.addCheckbox("Overwrite existing files in the output folder", overwrite);
    Dialog.show();
    input = Dialog.getString();
    output = Dialog.getString();
    factor = Dialog.getNumber();
    zfactor = Dialog.getNumber();
    overwrite = Dialog.getCheckbox();
}

// ---------------------------------------------------------------- helpers
// Arguments "key=value key2=[value with spaces]" are parsed by ImageJ's own
// ij.Macro.getValue, the parser that reads run(...) option strings.
function argString(key, value) {
    if (ARGS == "") return value;
    return call("ij.Macro.getValue", ARGS, key, "" + value);
}
function argInteger(key, value) {
    text = argString(key, "" + value);
    number = parseInt(text);
    if (isNaN(number) || number != parseFloat(text)) fail(key + " must be a whole number, got '" + text + "'");
    return number;
}
function argBoolean(key, value) {
    text = toLowerCase(argString(key, "" + value));
    if (text == "true" || text == "1" || text == "yes") return true;
    if (text == "false" || text == "0" || text == "no") return false;
    fail(key + " must be true or false, got '" + text + "'");
}
function fail(message) {
    // In batch mode (ImageJ -batch) exit() prints the message and stops; in
    // Fiji it shows it in a dialog. lumicare_ij.macros reports "ERROR:" lines.
    setBatchMode(false);
    exit("ERROR: " + message);
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
function same(a, b) {
    if (!endsWith(a, File.separator)) a = a + File.separator;
    if (!endsWith(b, File.separator)) b = b + File.separator;
    if (a == b) return true;
    return false;
}
function checkImage(name) {
    if (bitDepth() == 24) fail(name + " is RGB; convert it to 8/16/32-bit grey first");
    getDimensions(w, h, c, z, t);
    if (c > 1 || t > 1)
        fail(name + " has " + c + " channels and " + t + " frames; give single-channel z-stacks");
}
