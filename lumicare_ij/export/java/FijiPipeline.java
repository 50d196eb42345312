// The CSBDeep Fiji plugin's prediction path, rebuilt on the libraries it runs on:
// ImgLib2 5.10 views (the plugin's tiling and mirror padding) and TensorFlow Java 1.15.
//
// Usage:
//   java FijiPipeline MODEL_DIR IN.npy OUT.npy nTiles blockMultiple overlap pBottom pTop clip normalize [TILE_DIR]
//
// IN.npy: the raw image, float32, NumPy order ([Z,] Y, X, C). OUT.npy: the stitched output,
// ([Z,] Y, X, C_out). With TILE_DIR, the normalised image (normalized.npy) and every network
// input tile (tile<i>.npy, batch 1) are written there too. Prints the tiling as
// "grid", "tile", "padding" lines in ImageJ axis order (X, Y[, Z]).
//
// This is an independent re-implementation for checking lumicare_ij.export.fiji_parity, not the
// plugin's code: it follows the plugin's documented behaviour (PercentileNormalizer with
// nearest-rank percentiles in float arithmetic; DefaultTiling's tile count, tile sizes and
// per-axis Views.extendMirrorDouble expansion; batch size 1; padding cropped, tiles stitched,
// result cut or mirrored back to the image size) with the same ImgLib2 calls for the views.
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;

import net.imglib2.Cursor;
import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.array.ArrayImg;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.img.basictypeaccess.array.FloatArray;
import net.imglib2.type.numeric.real.FloatType;
import net.imglib2.view.Views;

import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.framework.MetaGraphDef;
import org.tensorflow.framework.SignatureDef;

public class FijiPipeline {

    public static void main(String[] args) throws Exception {
        if (args.length < 10) {
            System.err.println("usage: FijiPipeline MODEL_DIR IN.npy OUT.npy nTiles blockMultiple overlap "
                    + "pBottom pTop clip normalize [TILE_DIR]");
            System.exit(2);
        }
        Path modelDir = Paths.get(args[0]);
        RunSavedModel.Npy in = RunSavedModel.Npy.read(Paths.get(args[1]));
        Path outNpy = Paths.get(args[2]);
        int nTiles = Integer.parseInt(args[3]);
        int blockMultiple = Integer.parseInt(args[4]);
        int overlap = Integer.parseInt(args[5]);
        float pBottom = Float.parseFloat(args[6]);
        float pTop = Float.parseFloat(args[7]);
        boolean clip = Boolean.parseBoolean(args[8]);
        boolean normalize = Boolean.parseBoolean(args[9]);
        Path tileDir = args.length > 10 ? Paths.get(args[10]) : null;

        int nSpatial = in.shape.length - 1;
        float[] data = normalize ? normalized(in.data, pBottom, pTop, clip) : in.data.clone();
        if (tileDir != null) {
            Files.createDirectories(tileDir);
            RunSavedModel.Npy.write(tileDir.resolve("normalized.npy"), in.shape, data);
        }

        // ImgLib2 dimensions (C, X, Y[, Z]): dimension 0 varies fastest, as C does in NumPy's C order.
        long[] dims = new long[nSpatial + 1];
        dims[0] = in.shape[nSpatial];
        for (int d = 1; d <= nSpatial; d++) dims[d] = in.shape[nSpatial - d];
        ArrayImg<FloatType, FloatArray> image = ArrayImgs.floats(data, dims);

        // Tiling over the spatial axes in ImageJ order X, Y, Z (img dimensions 1..nSpatial).
        long[] size = Arrays.copyOfRange(dims, 1, dims.length);
        long[] grid = new long[nSpatial];
        Arrays.fill(grid, 1);
        while (product(grid) < nTiles) {
            int largest = -1;
            for (int a = 0; a < nSpatial; a++) {
                long t = tileSize(size[a], grid[a], blockMultiple);
                if (t > blockMultiple && (largest < 0 || t > tileSize(size[largest], grid[largest], blockMultiple))) {
                    largest = a;
                }
            }
            if (largest < 0) break;
            grid[largest]++;
        }
        long[] tile = new long[nSpatial];
        long[] pad = new long[nSpatial];
        long[] expanded = new long[nSpatial];
        for (int a = 0; a < nSpatial; a++) {
            tile[a] = tileSize(size[a], grid[a], blockMultiple);
            pad[a] = grid[a] > 1 ? overlap : 0;
            expanded[a] = tile[a] * grid[a];
        }
        System.out.println("grid\t" + join(grid));
        System.out.println("tile\t" + join(tile));
        System.out.println("padding\t" + join(pad));

        // Expand axis by axis (X, then Y, then Z), each time mirroring the previous view.
        RandomAccessibleInterval<FloatType> view = image;
        for (int a = 0; a < nSpatial; a++) {
            view = expandDim(view, a + 1, expanded[a]);
        }

        long nOut = -1;
        ArrayImg<FloatType, FloatArray> merged = null;
        try (SavedModelBundle bundle = SavedModelBundle.load(modelDir.toString(), "serve")) {
            SignatureDef sig = MetaGraphDef.parseFrom(bundle.metaGraphDef()).getSignatureDefMap().get("serving_default");
            String inName = RunSavedModel.tensorName(sig.getInputsMap().values().iterator().next());
            String outName = RunSavedModel.tensorName(sig.getOutputsMap().values().iterator().next());
            long[] pos = new long[nSpatial];
            int index = 0;
            do {
                long[] min = new long[nSpatial + 1];
                long[] max = new long[nSpatial + 1];
                max[0] = dims[0] - 1;
                for (int a = 0; a < nSpatial; a++) {
                    min[a + 1] = pos[a] * tile[a] - pad[a];
                    max[a + 1] = pos[a] * tile[a] + tile[a] - 1 + pad[a];
                }
                RandomAccessibleInterval<FloatType> tileView = Views.zeroMin(Views.interval(view, min, max));
                float[] tileData = copy(tileView);
                long[] tfShape = new long[nSpatial + 2];
                tfShape[0] = 1;
                for (int a = 0; a < nSpatial; a++) tfShape[1 + a] = tileView.dimension(nSpatial - a);
                tfShape[nSpatial + 1] = dims[0];
                if (tileDir != null) {
                    RunSavedModel.Npy.write(tileDir.resolve("tile" + index + ".npy"), tfShape, tileData);
                }
                float[] result;
                long[] resultShape;
                try (Tensor<Float> x = Tensor.create(tfShape, FloatBuffer.wrap(tileData))) {
                    List<Tensor<?>> outputs = bundle.session().runner().feed(inName, x).fetch(outName).run();
                    try (Tensor<?> y = outputs.get(0)) {
                        resultShape = y.shape();
                        FloatBuffer buf = FloatBuffer.allocate(y.numElements());
                        y.writeTo(buf);
                        result = buf.array();
                    }
                }
                if (merged == null) {
                    nOut = resultShape[nSpatial + 1];
                    long[] mergedDims = new long[nSpatial + 1];
                    mergedDims[0] = nOut;
                    System.arraycopy(expanded, 0, mergedDims, 1, nSpatial);
                    merged = ArrayImgs.floats(mergedDims);
                }
                long[] outDims = new long[nSpatial + 1];
                outDims[0] = nOut;
                for (int a = 0; a < nSpatial; a++) outDims[1 + a] = resultShape[nSpatial - a];
                ArrayImg<FloatType, FloatArray> outImg = ArrayImgs.floats(result, outDims);
                long[] cropMin = new long[nSpatial + 1];
                long[] cropMax = new long[nSpatial + 1];
                long[] placeMin = new long[nSpatial + 1];
                long[] placeMax = new long[nSpatial + 1];
                cropMax[0] = placeMax[0] = nOut - 1;
                for (int a = 0; a < nSpatial; a++) {
                    cropMin[a + 1] = pad[a];
                    cropMax[a + 1] = pad[a] + tile[a] - 1;
                    placeMin[a + 1] = pos[a] * tile[a];
                    placeMax[a + 1] = pos[a] * tile[a] + tile[a] - 1;
                }
                Cursor<FloatType> src = Views.flatIterable(Views.interval(outImg, cropMin, cropMax)).cursor();
                Cursor<FloatType> dst = Views.flatIterable(Views.interval(merged, placeMin, placeMax)).cursor();
                while (src.hasNext()) dst.next().set(src.next());
                index++;
            } while (next(pos, grid));
        }

        // Back to the image size: cut, or mirror where the tiles fell short (one axis after another).
        RandomAccessibleInterval<FloatType> fitted = merged;
        for (int a = 0; a < nSpatial; a++) {
            fitted = expandDim(fitted, a + 1, size[a]);
        }
        long[] outShape = in.shape.clone();
        outShape[nSpatial] = nOut;
        RunSavedModel.Npy.write(outNpy, outShape, copy(fitted));
    }

    /** Nearest-rank percentiles of the sorted float pixels, mapped to [0, 1], negative values set to 0. */
    static float[] normalized(float[] values, float pBottom, float pTop, boolean clip) {
        float[] sorted = values.clone();
        Arrays.sort(sorted);
        float lo = rank(sorted, pBottom);
        float hi = rank(sorted, pTop);
        float factor = (hi - lo < 0.0000001) ? 1 : 1f / (hi - lo);
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            float v = (values[i] - lo) * factor + 0f;
            out[i] = clip ? Math.max(0f, Math.min(1f, v)) : Math.max(0f, v);
        }
        return out;
    }

    static float rank(float[] sorted, float percentile) {
        int i = Math.round((sorted.length - 1) * percentile / 100.f);
        return sorted[Math.min(sorted.length - 1, Math.max(0, i))];
    }

    /** Tile size: the integer share of the axis, rounded up to the block multiple. */
    static long tileSize(long size, long tiles, int multiple) {
        return (long) (Math.ceil(size / tiles / (double) multiple) * multiple);
    }

    /** The view cut or mirror-extended (edge pixel repeated) along one dimension to a new size. */
    static RandomAccessibleInterval<FloatType> expandDim(RandomAccessibleInterval<FloatType> view, int d, long newSize) {
        long[] min = new long[view.numDimensions()];
        long[] max = new long[view.numDimensions()];
        view.min(min);
        view.max(max);
        max[d] = min[d] + newSize - 1;
        return Views.interval(Views.extendMirrorDouble(view), min, max);
    }

    static float[] copy(RandomAccessibleInterval<FloatType> view) {
        long n = 1;
        for (int d = 0; d < view.numDimensions(); d++) n *= view.dimension(d);
        float[] out = new float[(int) n];
        int i = 0;
        for (FloatType v : Views.flatIterable(view)) out[i++] = v.get();
        return out;
    }

    static boolean next(long[] pos, long[] grid) {
        // Grid positions with the last ImageJ axis (Z) varying slowest.
        for (int a = 0; a < pos.length; a++) {
            if (++pos[a] < grid[a]) return true;
            pos[a] = 0;
        }
        return false;
    }

    static long product(long[] values) {
        long p = 1;
        for (long v : values) p *= v;
        return p;
    }

    static String join(long[] values) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < values.length; i++) sb.append(i == 0 ? "" : ",").append(values[i]);
        return sb.toString();
    }
}
