// mito_morphology.ijm - Figure 2b of the paper: mitochondrial shape per image.
//
// For every .tif/.tiff in the input folder:
//   1. Image > Stacks > Z Project..., Max Intensity (a 2D image is used as it is);
//   2. Process > Subtract Background..., rolling ball radius 5 px (light background off,
//      sliding paraboloid off, smoothing on: Fiji's defaults);
//   3. segmentation: setAutoThreshold("<method> dark") + Process > Binary > Convert to Mask
//      (method "Default" unless changed below);
//   4. Analyze > Analyze Particles, size=20-Infinity (pixels, inclusive), with
//      Set Measurements: area, centroid, perimeter, shape descriptors, fit ellipse;
//      spatial calibration removed first, so everything is in pixels;
//   5. per image: the mean circularity and mean aspect ratio of the particles.
// Two CSV tables are written: one line per image (the values Figure 2b plots) and one
// line per particle.
//
// The paper segmented with an ilastik pixel classifier, which a macro cannot run; the
// auto-threshold here is lumicare_ij.analysis.mito_morphology's default
// (segmentation="Default"), and the numbers are the same as
// lumicare_ij.analysis.mito_morphology(stack, segmentation=method, min_size_px=...,
// rolling_ball_radius_px=...) with engine="numpy" or "imagej" (means to ~1e-15: the
// macro sums in order, NumPy's mean pairwise).
//
// Interactive use (Fiji or ImageJ 1.53t): run it with no argument (Plugins > LumiCARE after
// 'lumicare fiji install', or Run in the macro editor): a dialog asks for the folders
// and offers the paper's settings as defaults (no dialog if you type the folders into the
// parameters below). From another macro, the dialog's fields are
// the same keys: run("Mito Morphology", "key=value ...").
// Batch use: key=value pairs as the macro argument (values with spaces in [ ]):
//   ImageJ -batch mito_morphology.ijm "input=[/data/tomm20] table=[/data/mito.csv]"
//   or from Python: lumicare_ij.macros.run_macro("mito_morphology", {...})
//
// Requires ImageJ 1.53t or later core commands only (no Fiji plugin).
// Note: Set Measurements and "Analyze Particles ... clear" change ImageJ's measurement
// settings and clear the Results table, as running the commands by hand would.

// ---------------------------------------------------------------- parameters
var input = "";          // folder with the z-stacks or 2D images ("" = the dialog asks)
var table = "";          // per-image CSV ("" = mito_morphology.csv in the input folder)
var particles = "";      // per-particle CSV ("" = same name as table with _particles)
var masks = "";          // optional folder: save every particle mask as <name>_mito.tif
var method = "Default";  // auto-threshold method (Default, Otsu, Li, Triangle, ...), bright objects on a dark background
var min_size = 20;       // Analyze Particles lower size limit in pixels (inclusive; "20-Infinity")
var rolling = 5;         // rolling ball radius in pixels
// ----------------------------------------------------------------------------

var ARGS = "";  // the macro argument, visible to the helper functions
ARGS = getArgument();
input = argString("input", input);
table = argString("table", table);
particles = argString("particles", particles);
masks = argString("masks", masks);
method = argString("method", method);
min_size = argNumber("min_size", min_size);
rolling = argNumber("rolling", rolling);

// No argument and no folder typed in above: Plugins > LumiCARE, the macro editor, or run() with options.
if (ARGS == "" && (input == "")) askSettings();
if (!File.isDirectory(input)) fail("input folder not found: " + input);
if (table == "") table = joinPath(input, "mito_morphology.csv");
if (particles == "") {
    if (endsWith(toLowerCase(table), ".csv")) particles = substring(table, 0, lengthOf(table) - 4) + "_particles.csv";
    else particles = table + "_particles.csv";
}
if (min_size < 0) fail("min_size must be >= 0");
if (rolling <= 0) fail("rolling must be > 0");
if (masks != "" && !File.isDirectory(masks)) File.makeDirectory(masks);
methods = getList("threshold.methods");
known = false;
for (j = 0; j < methods.length; j++) if (methods[j] == method) known = true;
if (!known) fail("unknown threshold method '" + method + "'; use one of " + String.join(methods));

setBatchMode(true);
setOption("BlackBackground", true);    // Process > Binary > Options: masks are 255 on 0
run("Set Measurements...", "area centroid perimeter fit shape redirect=None decimal=9");

files = tifList(input);
if (files.length == 0) fail("no .tif files in " + input);
names = newArray(files.length);
counts = newArray(files.length);
meanCirc = newArray(files.length);
meanAR = newArray(files.length);

p = File.open(particles);
print(p, "image,particle,area,perimeter,circularity,aspect_ratio,round,solidity,major,minor,angle,x_centroid,y_centroid");
for (i = 0; i < files.length; i++) {
    name = files[i];
    open(joinPath(input, name));
    checkImage(name);
    run("Set Scale...", "distance=0 known=0 unit=pixel");   // measure in pixels
    original = getImageID();
    if (nSlices > 1) {
        run("Z Project...", "projection=[Max Intensity]");
        projected = getImageID();
        selectImage(original); close();
        selectImage(projected);
    }
    run("Subtract Background...", "rolling=" + rolling);
    setAutoThreshold(method + " dark");
    run("Convert to Mask");
    binary = getImageID();
    setThreshold(255, 255);
    run("Analyze Particles...", "size=" + min_size + "-Infinity pixel show=Masks clear");
    mask = getImageID();
    n = nResults;
    sumCirc = 0; sumAR = 0;
    for (k = 0; k < n; k++) {
        circ = getResult("Circ.", k);
        ar = getResult("AR", k);
        sumCirc += circ; sumAR += ar;
        print(p, "" + csvText(name) + "," + (k + 1) + "," + fmt(getResult("Area", k)) + "," + fmt(getResult("Perim.", k))
            + "," + fmt(circ) + "," + fmt(ar) + "," + fmt(getResult("Round", k)) + "," + fmt(getResult("Solidity", k))
            + "," + fmt(getResult("Major", k)) + "," + fmt(getResult("Minor", k)) + "," + fmt(getResult("Angle", k))
            + "," + fmt(getResult("X", k)) + "," + fmt(getResult("Y", k)));
    }
    names[i] = name;
    counts[i] = n;
    if (n > 0) { meanCirc[i] = sumCirc / n; meanAR[i] = sumAR / n; }
    else { meanCirc[i] = NaN; meanAR[i] = NaN; }
    if (masks != "") {
        selectImage(mask);
        base = stem(name);
        saveAs("Tiff", joinPath(masks, base + "_mito.tif"));
        mask = getImageID();
    }
    selectImage(mask); close();
    selectImage(binary); close();
    print(name + ": " + n + " particles, mean circularity " + fmt(meanCirc[i]) + ", mean AR " + fmt(meanAR[i]));
}
File.close(p);

f = File.open(table);
print(f, "image,n_particles,mean_circularity,mean_aspect_ratio,method,min_size_px,rolling_ball_radius_px");
for (i = 0; i < files.length; i++)
    print(f, "" + csvText(names[i]) + "," + counts[i] + "," + fmt(meanCirc[i]) + "," + fmt(meanAR[i]) + "," + method + "," + fmtParameter(min_size) + "," + fmtParameter(rolling));
File.close(f);
setBatchMode(false);
if (ARGS == "") {
    Table.create("Mitochondrial morphology");
    Table.setColumn("image", names);
    Table.setColumn("n_particles", counts);
    Table.setColumn("mean_circularity", meanCirc);
    Table.setColumn("mean_aspect_ratio", meanAR);
    Table.update;
}
print("mito_morphology: " + files.length + " image(s); tables written to " + table + " and " + particles);

// ---------------------------------------------------------------- helpers
// Arguments "key=value key2=[value with spaces]" are parsed by ImageJ's own
// ij.Macro.getValue, the parser that reads run(...) option strings.

// The settings dialog (no macro argument). Each label's first word is the key of the batch
// argument, so run("Mito Morphology", "input=[...]") fills it without showing it.
function askSettings() {
    Dialog.create("Mitochondrial morphology (Figure 2b)");
    Dialog.addMessage("Each stack: Z maximum projection, rolling-ball background subtraction, an auto-threshold\n"
        + "(bright mitochondria on a dark background), particles of at least 'Min size' pixels; then the\n"
        + "mean circularity and mean aspect ratio per image. The paper segmented with ilastik instead.");
    Dialog.addDirectory("Input folder (TOMM20 z-stacks or 2D images)", input);
    Dialog.addString("Table (per-image CSV file; empty = one in the input folder)", table, 40);
    Dialog.addString("Particles (per-particle CSV file; empty = next to the table)", particles, 40);
    Dialog.addDirectory("Masks folder (optional: save every particle mask)", masks);
    thresholdMethods = getList("threshold.methods");
    Dialog.addChoice("Method (auto-threshold)", thresholdMethods, method);
    Dialog.addNumber("Min_size", min_size, 0, 6, "pixels (default 20; smaller particles are dropped)");
    Dialog.addNumber("Rolling", rolling, 0, 6, "rolling-ball radius in pixels (default 5)");
    Dialog.show();
    input = Dialog.getString();
    table = Dialog.getString();
    particles = Dialog.getString();
    masks = Dialog.getString();
    method = Dialog.getChoice();
    min_size = Dialog.getNumber();
    rolling = Dialog.getNumber();
}

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
