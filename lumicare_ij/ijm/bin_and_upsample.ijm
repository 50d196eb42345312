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
// Interactive use (Fiji or ImageJ 1.53t): edit the parameters below, or leave the
// folders empty to be asked for them, then Run.
// Batch use: pass key=value pairs as the macro argument (values with spaces in [ ]):
//   ImageJ -batch bin_and_upsample.ijm "input=[/data/gt] output=[/data/binned4] factor=4"
//   or from Python: lumicare_ij.macros.run_macro("bin_and_upsample", {...})
//
// Requires ImageJ 1.53t or later core commands only (no Fiji plugin).

// ---------------------------------------------------------------- parameters
var input = "";          // folder with the original images ("" = ask)
var output = "";         // folder for the binned-and-upsampled images ("" = ask; created if missing)
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

if (input == "") input = getDirectory("Folder with the original images");
if (output == "") output = getDirectory("Folder for the binned and upsampled images");
if (!File.isDirectory(input)) fail("input folder not found: " + input);
if (factor < 1 || zfactor < 1) fail("factor and zfactor must be whole numbers >= 1");
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
