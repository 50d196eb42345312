// Runs a TensorFlow SavedModel the way the CSBDeep Fiji plugin does, in TF Java 1.15.
//
// Usage:
//   java RunSavedModel ops OUT.tsv
//       writes TensorFlow.registeredOpList() as "op<TAB>attr,attr,..." lines
//   java RunSavedModel run JOBS.tsv
//       each line "MODEL_DIR<TAB>IN.npy<TAB>OUT.npy": one SavedModelBundle per model
//       folder, loaded with SavedModelBundle.load(dir, "serve") like the plugin
//
// Kept in its own process so that it never meets Python's TensorFlow (two TF
// runtimes in one process crash). Arrays travel as float32 little-endian
// C-order .npy files (format 1.0) so that the Python side needs nothing but NumPy.
import java.io.*;
import java.nio.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;

import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.TensorFlow;
import org.tensorflow.framework.AttrValue;
import org.tensorflow.framework.MetaGraphDef;
import org.tensorflow.framework.OpDef;
import org.tensorflow.framework.OpList;
import org.tensorflow.framework.SignatureDef;
import org.tensorflow.framework.TensorInfo;

public class RunSavedModel {

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("ops") || args[0].equals("run"))) {
            System.err.println("usage: RunSavedModel ops OUT.tsv | RunSavedModel run JOBS.tsv");
            System.exit(2);
        }
        System.out.println("tensorflow_version\t" + TensorFlow.version());
        if (args[0].equals("ops")) {
            writeOps(Paths.get(args[1]));
        } else {
            runJobs(Paths.get(args[1]));
        }
    }

    static void writeOps(Path out) throws IOException {
        OpList ops = OpList.parseFrom(TensorFlow.registeredOpList());
        StringBuilder sb = new StringBuilder();
        for (OpDef op : ops.getOpList()) {
            List<String> attrs = new ArrayList<>();
            for (OpDef.AttrDef a : op.getAttrList()) {
                attrs.add(a.getName());
            }
            sb.append(op.getName()).append('\t').append(String.join(",", attrs)).append('\n');
        }
        Files.write(out, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    static void runJobs(Path jobsFile) throws IOException {
        // Group jobs by model folder, keeping order, so each model loads once.
        LinkedHashMap<String, List<String[]>> byModel = new LinkedHashMap<>();
        for (String line : Files.readAllLines(jobsFile, StandardCharsets.UTF_8)) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t");
            byModel.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f);
        }
        for (Map.Entry<String, List<String[]>> e : byModel.entrySet()) {
            try (SavedModelBundle bundle = SavedModelBundle.load(e.getKey(), "serve")) {
                MetaGraphDef meta = MetaGraphDef.parseFrom(bundle.metaGraphDef());
                if (!meta.getSignatureDefMap().containsKey("serving_default")) {
                    throw new IllegalStateException("no 'serving_default' signature in " + e.getKey());
                }
                SignatureDef sig = meta.getSignatureDefMap().get("serving_default");
                // The plugin takes the first input and the first output of the signature.
                String in = tensorName(sig.getInputsMap().values().iterator().next());
                String out = tensorName(sig.getOutputsMap().values().iterator().next());
                System.out.println("model\t" + e.getKey() + "\tinputs=" + sig.getInputsCount()
                        + "\toutputs=" + sig.getOutputsCount() + "\tinput=" + in + "\toutput=" + out);
                for (String[] job : e.getValue()) {
                    runOne(bundle, in, out, Paths.get(job[1]), Paths.get(job[2]));
                }
            }
        }
    }

    static String tensorName(TensorInfo info) {
        String name = info.getName();
        // The plugin feeds and fetches by operation name, without the ":0".
        return name.endsWith(":0") ? name.substring(0, name.length() - 2) : name;
    }

    static void runOne(SavedModelBundle bundle, String in, String out, Path inNpy, Path outNpy)
            throws IOException {
        Npy x = Npy.read(inNpy);
        try (Tensor<Float> input = Tensor.create(x.shape, FloatBuffer.wrap(x.data))) {
            List<Tensor<?>> results = bundle.session().runner().feed(in, input).fetch(out).run();
            try (Tensor<?> y = results.get(0)) {
                if (y.dataType() != org.tensorflow.DataType.FLOAT) {
                    throw new IllegalStateException("output is " + y.dataType() + ", expected FLOAT");
                }
                FloatBuffer buf = FloatBuffer.allocate(y.numElements());
                y.writeTo(buf);
                Npy.write(outNpy, y.shape(), buf.array());
            }
        }
    }

    /** Minimal .npy reader/writer for float32 little-endian C-order arrays. */
    static final class Npy {
        long[] shape;
        float[] data;

        static Npy read(Path path) throws IOException {
            ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[6];
            bb.get(magic);
            if (magic[0] != (byte) 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
                throw new IOException(path + " is not a .npy file");
            }
            int major = bb.get() & 0xff;
            bb.get();
            int headerLen = major == 1 ? (bb.getShort() & 0xffff) : bb.getInt();
            byte[] hb = new byte[headerLen];
            bb.get(hb);
            String header = new String(hb, StandardCharsets.US_ASCII);
            if (!header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False")) {
                throw new IOException(path + ": expected float32 little-endian C-order, header " + header);
            }
            String dims = header.substring(header.indexOf("'shape': (") + 10);
            dims = dims.substring(0, dims.indexOf(')'));
            List<Long> shape = new ArrayList<>();
            for (String d : dims.split(",")) {
                if (!d.trim().isEmpty()) shape.add(Long.parseLong(d.trim()));
            }
            Npy npy = new Npy();
            npy.shape = shape.stream().mapToLong(Long::longValue).toArray();
            long n = 1;
            for (long s : npy.shape) n *= s;
            npy.data = new float[(int) n];
            bb.asFloatBuffer().get(npy.data);
            return npy;
        }

        static void write(Path path, long[] shape, float[] data) throws IOException {
            StringBuilder dims = new StringBuilder();
            for (long s : shape) dims.append(s).append(", ");
            String d = dims.toString();
            if (shape.length > 1) d = d.substring(0, d.length() - 2);
            else if (shape.length == 1) d = d.substring(0, d.length() - 1);
            String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + d + "), }";
            int total = 10 + header.length() + 1;
            int pad = (64 - total % 64) % 64;
            StringBuilder h = new StringBuilder(header);
            for (int i = 0; i < pad; i++) h.append(' ');
            h.append('\n');
            byte[] hb = h.toString().getBytes(StandardCharsets.US_ASCII);
            ByteBuffer bb = ByteBuffer.allocate(10 + hb.length + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
            bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
            bb.putShort((short) hb.length).put(hb);
            bb.asFloatBuffer().put(data);
            Path tmp = path.resolveSibling(path.getFileName() + ".part");
            Files.write(tmp, bb.array());
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
