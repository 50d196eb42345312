import ij.IJ;
import ij.ImageJ;
import ij.ImagePlus;
import ij.process.ImageProcessor;
import java.awt.*;
import java.awt.event.ActionEvent;
import java.awt.image.BufferedImage;
import java.io.File;
import javax.imageio.ImageIO;

/**
 * Screenshots of the installed LumiCARE commands in the real ImageJ 1.x, for docs/fiji.md
 * (run by scripts/fiji_screenshots.py under Xvfb; nothing here is drawn by hand).
 *
 * Arguments: OUT_DIR, then jobs of three words each:
 *   dialog  COMMAND       PNG   run COMMAND from the menu, capture its settings dialog, press Cancel
 *   run     COMMAND|OPTS  PNG   run COMMAND with OPTS (no dialog), capture the window titled like PNG's job title
 *   open    IMAGE_PATH    PNG   open an image (a mask), capture its window
 * The title of the window to capture after "run" is the text after the last '|' of OPTS.
 */
public class FijiScreenshots {
    public static void main(String[] args) throws Exception {
        File out = new File(args[0]);
        new ImageJ();  // the main window and its menus, with the plugins folder's commands
        Thread.sleep(1500);
        for (int i = 1; i + 2 < args.length; i += 3) {
            String kind = args[i], what = args[i + 1];
            File png = new File(out, args[i + 2]);
            if (kind.equals("dialog")) {
                Thread t = new Thread(() -> IJ.run(what), "Run$_screenshot");
                t.start();
                Dialog d = waitForDialog(30000);
                capture(d, png);
                pressCancel(d);
                t.join(30000);
            } else if (kind.equals("run")) {
                String[] parts = what.split("\\|");
                IJ.run(parts[0], parts[1]);
                capture(waitForTitle(parts[2], 30000), png);
            } else if (kind.equals("open")) {
                ImagePlus opened = IJ.openImage(what);
                int plane = (opened.getStackSize() + 1) / 2;  // a middle plane of a stack
                ImageProcessor ip = opened.getStack().getProcessor(plane);
                ip.setInterpolationMethod(ImageProcessor.NONE);  // 128 px masks are too small to judge at 100 %
                String title = opened.getTitle() + ", plane " + plane + "/" + opened.getStackSize() + ", shown 3x";
                new ImagePlus(title, ip.resize(ip.getWidth() * 3, ip.getHeight() * 3)).show();
                capture(waitForTitle(title, 30000), png);
            } else {
                throw new IllegalArgumentException("unknown job " + kind);
            }
            System.out.println("wrote " + png);
        }
        System.exit(0);
    }

    static Dialog waitForDialog(long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            for (Window w : Window.getWindows())
                if (w instanceof Dialog && w.isShowing()) { Thread.sleep(800); return (Dialog) w; }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no dialog appeared");
    }

    static Window waitForTitle(String title, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            for (Window w : Window.getWindows()) {
                String t = w instanceof Frame ? ((Frame) w).getTitle() : w instanceof Dialog ? ((Dialog) w).getTitle() : "";
                if (w.isShowing() && t.startsWith(title)) { Thread.sleep(800); return w; }
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no window titled " + title);
    }

    static void capture(Window w, File png) throws Exception {
        // Without a window manager Java may report a window at (0, 0) that X showed elsewhere: put it
        // at a known place first, below ImageJ's main window.
        EventQueue.invokeAndWait(() -> { w.setLocation(10, 120); w.toFront(); });
        Rectangle r = stableBounds(w);
        // The whole screen, then the window's part: under Xvfb, Robot ignores a capture rectangle's origin.
        BufferedImage screen = new Robot().createScreenCapture(new Rectangle(Toolkit.getDefaultToolkit().getScreenSize()));
        BufferedImage shot = screen.getSubimage(r.x, r.y, r.width, r.height);
        ImageIO.write(shot, "png", png);
    }

    /** The window's place on the screen once it has stopped moving and growing (layout, centring). */
    static Rectangle stableBounds(Window w) throws InterruptedException {
        Rectangle last = null;
        int same = 0;
        for (int i = 0; i < 100 && same < 8; i++) {  // unchanged for 8 looks (1.6 s): X has placed it
            Thread.sleep(200);
            Rectangle now = new Rectangle(w.getLocationOnScreen(), w.getSize());
            same = now.equals(last) ? same + 1 : 0;
            last = now;
        }
        return last;
    }

    static void pressCancel(Dialog d) {
        for (Component c : all(d))
            if (c instanceof Button && "Cancel".equals(((Button) c).getLabel())) {
                Button b = (Button) c;
                EventQueue.invokeLater(() -> {
                    for (java.awt.event.ActionListener l : b.getActionListeners())
                        l.actionPerformed(new ActionEvent(b, ActionEvent.ACTION_PERFORMED, "Cancel"));
                });
                return;
            }
        d.dispose();
    }

    static java.util.List<Component> all(Container c) {
        java.util.List<Component> found = new java.util.ArrayList<>();
        for (Component child : c.getComponents()) {
            found.add(child);
            if (child instanceof Container) found.addAll(all((Container) child));
        }
        return found;
    }
}
