// nuclear_pearson.ijm - Figure 2a of the paper: Pearson's R of raw pixel values under nuclear masks.
//
// For every .tif/.tiff in the image folder (inputs or restorations) and the ground-truth
// file of the same name in the truth folder:
//   1. nuclear mask from the ground truth, thresholded as it is (no 16-bit conversion):
//      setAutoThreshold("Triangle dark") + Process > Binary > Convert to Mask
//      (a stack slice by slice: "Calculate threshold for each image");
//   2. Analyze > Analyze Particles, size=5-Infinity (pixels, inclusive), show=Masks;
//   3. Pearson's R between the raw pixel values of the image and of the ground truth
//      over the pixels of the mask (mask > 0), written to a CSV table.
//
// NOTE ON PEARSON'S R: the paper used Coloc 2, a Fiji plugin that plain ImageJ lacks.
// By default this macro does NOT call it: it evaluates the formula of Coloc 2's "Fast"
// implementation ("Pearson's R value (no threshold)") with core macro functions -
// a loop over the mask pixels with getPixel, sums in double in array order:
//   r = (Sxy - Sx*Sy/n) / sqrt((Sxx - Sx*Sx/n) * (Syy - Sy*Sy/n))
// The table says so in its "pearson_source" column.
// In Fiji you can ALSO run Coloc 2 itself: set coloc2 = true (or pass coloc2=true).
// The macro then runs, for each pair,
//   run("Coloc 2", "channel_1=<image> channel_2=<truth> roi_or_mask=<mask>
//        threshold_regression=Costes psf=3 costes_randomisations=10");
// on 32-bit copies (Coloc 2 needs equal bit depths) and adds Coloc 2's own value, read
// from the Log window where Coloc 2 prints it with 2 decimals, as "pearson_r_coloc2".
// (The coloc2 option is not exercised by lumicare_ij's tests: no Fiji there.)
//
// Same numbers as lumicare_ij.analysis.nuclear_pearson(image, ground_truth, min_size_px)
// and masks as lumicare_ij.analysis.nuclear_mask (engine="numpy" or "imagej").
//
// Interactive use (Fiji or ImageJ 1.53t): run it with no argument (Plugins > LumiCARE after
// 'lumicare fiji install', or Run in the macro editor): a dialog asks for the folders
// and offers the paper's settings as defaults (no dialog if you type the folders into the
// parameters below). From another macro, the dialog's fields are
// the same keys: run("Nuclear Pearson", "key=value ...").
// Batch use: key=value pairs as the macro argument (values with spaces in [ ]):
//   ImageJ -batch nuclear_pearson.ijm "images=[/data/care] truth=[/data/gt] table=[/data/r.csv]"
//   or from Python: lumicare_ij.macros.run_macro("nuclear_pearson", {...})
//
// Requires ImageJ 1.53t or later core commands only (Coloc 2 only with coloc2=true).

// ---------------------------------------------------------------- parameters
var images = "";         // folder with the images to score (inputs or restorations) ("" = the dialog asks)
var truth = "";          // folder with the ground-truth images, same file names ("" = the dialog asks)
var table = "";          // CSV file for the results ("" = pearson.csv in the image folder)
var masks = "";          // optional folder: save every nuclear mask as <name>_nuclei.tif
var min_size = 5;        // Analyze Particles lower size limit in pixels (inclusive; "5-Infinity")
var coloc2 = false;      // Fiji only: also run the Coloc 2 plugin and record its value
// ----------------------------------------------------------------------------

var ARGS = "";  // the macro argument, visible to the helper functions
var PEARSON_R = NaN;  // results of maskedPearson()
var PEARSON_N = 0;
ARGS = getArgument();
images = argString("images", images);
truth = argString("truth", truth);
table = argString("table", table);
masks = argString("masks", masks);
min_size = argNumber("min_size", min_size);
coloc2 = argBoolean("coloc2", coloc2);

// No argument and no folder typed in above: Plugins > LumiCARE, the macro editor, or run() with options.
if (ARGS == "" && (images == "" || truth == "")) askSettings();
if (!File.isDirectory(images)) fail("image folder not found: " + images);
if (!File.isDirectory(truth)) fail("truth folder not found: " + truth);
if (table == "") table = joinPath(images, "pearson.csv");
if (min_size < 0) fail("min_size must be >= 0");
if (masks != "" && !File.isDirectory(masks)) File.makeDirectory(masks);
if (coloc2) {
    List.setCommands;
    if (List.get("Coloc 2") == "") fail("coloc2=true needs Fiji's Coloc 2 plugin, which this ImageJ lacks");
}

PEARSON_SOURCE = "ImageJ macro: Coloc 2 Fast formula over mask > 0 (getPixel loop; sums in double; not the Fiji Coloc 2 plugin)";

setBatchMode(true);
setOption("BlackBackground", true);    // Process > Binary > Options: masks are 255 on 0

files = tifList(images);
if (files.length == 0) fail("no .tif files in " + images);
for (i = 0; i < files.length; i++)
    if (!File.exists(joinPath(truth, files[i]))) fail("no ground truth " + joinPath(truth, files[i]) + " for image " + files[i]);

names = newArray(files.length);
rs = newArray(files.length);
ns = newArray(files.length);
rcs = newArray(files.length);
for (i = 0; i < files.length; i++) {
    name = files[i];
    open(joinPath(images, name));
    checkImage(name);
    image = getImageID();
    open(joinPath(truth, name));
    checkImage(name);
    gt = getImageID();
    if (getWidth() * getHeight() * nSlices != sizeOf(image)) fail(name + ": image and ground truth differ in size");
    mask = nuclearMask(gt);
    if (masks != "") {
        selectImage(mask);
        base = stem(name);
        saveAs("Tiff", joinPath(masks, base + "_nuclei.tif"));
        mask = getImageID();
    }
    maskedPearson(image, gt, mask);
    names[i] = name;
    rs[i] = PEARSON_R;
    ns[i] = PEARSON_N;
    rcs[i] = NaN;
    if (PEARSON_N == 0)
        print("WARNING: " + name + ": the ground truth gave an empty nuclear mask; R is NaN");
    if (coloc2) rcs[i] = coloc2Pearson(image, gt, mask);
    selectImage(mask); close();
    selectImage(gt); close();
    selectImage(image); close();
    print(name + ": Pearson's R = " + fmt(PEARSON_R) + " over " + PEARSON_N + " mask pixels");
}

f = File.open(table);
header = "image,pearson_r,n_mask_pixels,min_size_px,pearson_source";
if (coloc2) header = header + ",pearson_r_coloc2";
print(f, header);
for (i = 0; i < files.length; i++) {
    line = "" + csvText(names[i]) + "," + fmt(rs[i]) + "," + ns[i] + "," + fmtParameter(min_size) + "," + csvText(PEARSON_SOURCE);
    if (coloc2) line = line + "," + fmt(rcs[i]);
    print(f, line);
}
File.close(f);
setBatchMode(false);
if (ARGS == "") {
    Table.create("Pearson's R under nuclear masks");
    Table.setColumn("image", names);
    Table.setColumn("pearson_r", rs);
    Table.setColumn("n_mask_pixels", ns);
    if (coloc2) Table.setColumn("pearson_r_coloc2", rcs);
    Table.update;
}
print("nuclear_pearson: " + files.length + " pair(s); table written to " + table);

// The settings dialog (no macro argument). Each label's first word is the key of the batch
// argument, so run("Nuclear Pearson", "images=[...] truth=[...]") fills it without showing it.
function askSettings() {
    Dialog.create("Pearson's R under nuclear masks (Figure 2a)");
    Dialog.addMessage("The nuclei are segmented in the ground truth (Triangle threshold, dark background,\n"
        + "particles of at least 'Min size' pixels); Pearson's R of the raw pixel values of each image and\n"
        + "its ground truth is computed over those pixels (Coloc 2's formula, without Coloc 2).");
    Dialog.addDirectory("Images folder (raw or restored images to score)", images);
    Dialog.addDirectory("Truth folder (ground truth: long exposure or fluorescence, same file names)", truth);
    Dialog.addString("Table (CSV file; empty = pearson.csv in the images folder)", table, 40);
    Dialog.addDirectory("Masks folder (optional: save every nuclear mask)", masks);
    Dialog.addNumber("Min_size", min_size, 0, 6, "pixels (paper: 5; smaller particles are dropped)");
    Dialog.addCheckbox("Coloc2: also run Fiji's Coloc 2 plugin and record its value (Fiji only)", coloc2);
    Dialog.show();
    images = Dialog.getString();
    truth = Dialog.getString();
    table = Dialog.getString();
    masks = Dialog.getString();
    min_size = Dialog.getNumber();
    coloc2 = Dialog.getCheckbox();
}

// ---------------------------------------------------------------- analysis steps
// The nuclear mask of a ground-truth image (left open; the ground truth is kept).
function nuclearMask(gt) {
    selectImage(gt);
    if (nSlices > 1) {
        run("Duplicate...", "title=lumicare_threshold duplicate");
        work = getImageID();
        // "Calculate threshold for each image": each slice gets its own Triangle threshold.
        run("Convert to Mask", "method=Triangle background=Dark calculate black");
    } else {
        run("Duplicate...", "title=lumicare_threshold");
        work = getImageID();
        setAutoThreshold("Triangle dark");
        run("Convert to Mask");
    }
    setThreshold(255, 255);
    options = "size=" + min_size + "-Infinity pixel show=Masks";
    if (nSlices > 1) options = options + " stack";
    run("Analyze Particles...", options);
    mask = getImageID();
    selectImage(work); close();
    return mask;
}

// Pearson's R of the raw values of two images over the pixels where mask > 0,
// Coloc 2's "Fast" formula: sums in double, accumulated in array order (slice, row, column).
function maskedPearson(a, b, mask) {
    selectImage(mask);
    w = getWidth(); h = getHeight(); depth = nSlices;
    xs = newArray(w * h); ys = newArray(w * h); va = newArray(w * h);
    sx = 0; sy = 0; sxx = 0; syy = 0; sxy = 0; n = 0;
    for (z = 1; z <= depth; z++) {
        selectImage(mask);
        setSlice(z);
        count = 0;
        for (y = 0; y < h; y++) {
            for (x = 0; x < w; x++) {
                if (getPixel(x, y) > 0.001) {
                    xs[count] = x; ys[count] = y; count++;
                }
            }
        }
        selectImage(a);
        setSlice(z);
        for (k = 0; k < count; k++) va[k] = getPixel(xs[k], ys[k]);
        selectImage(b);
        setSlice(z);
        for (k = 0; k < count; k++) {
            va_k = va[k];
            vb_k = getPixel(xs[k], ys[k]);
            sx += va_k; sy += vb_k;
            sxx += va_k * va_k; syy += vb_k * vb_k; sxy += va_k * vb_k;
        }
        n += count;
    }
    PEARSON_N = n;
    if (n == 0) { PEARSON_R = NaN; return; }
    inv = 1 / n;
    num = sxy - (sx * sy * inv);
    varA = sxx - (sx * sx * inv);
    varB = syy - (sy * sy * inv);
    r = num / sqrt(varA * varB);
    if (isNaN(r) || abs(r) > 1e308) r = NaN;   // not finite: Coloc 2 reports NaN
    PEARSON_R = r;
}

// Fiji only: Coloc 2's own "Pearson's R value (no threshold)", as it prints it (2 decimals).
function coloc2Pearson(image, gt, mask) {
    selectImage(image);
    run("Duplicate...", "title=lumicare_coloc_image duplicate");
    run("32-bit");
    c1 = getImageID();
    selectImage(gt);
    run("Duplicate...", "title=lumicare_coloc_truth duplicate");
    run("32-bit");
    c2 = getImageID();
    selectImage(mask);
    run("Duplicate...", "title=lumicare_coloc_mask duplicate");
    cm = getImageID();
    before = lengthOf(getInfo("log"));
    run("Coloc 2", "channel_1=lumicare_coloc_image channel_2=lumicare_coloc_truth roi_or_mask=lumicare_coloc_mask threshold_regression=Costes psf=3 costes_randomisations=10");
    logText = substring(getInfo("log"), before);
    key = "Pearson's R value (no threshold), ";
    at = indexOf(logText, key);
    value = NaN;
    if (at >= 0) {
        rest = substring(logText, at + lengthOf(key));
        end = indexOf(rest, "\n");
        if (end >= 0) rest = substring(rest, 0, end);
        value = parseFloat(rest);
    } else {
        print("WARNING: Coloc 2's Pearson value was not found in the Log window");
    }
    selectImage(c1); close();
    selectImage(c2); close();
    selectImage(cm); close();
    return value;
}

function sizeOf(id) {
    current = getImageID();
    selectImage(id);
    size = getWidth() * getHeight() * nSlices;
    selectImage(current);
    return size;
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
