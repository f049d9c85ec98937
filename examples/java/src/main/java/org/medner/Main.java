/*
 * Command line of the Java binding (the jar's Main-Class):
 *
 *   java --enable-native-access=ALL-UNNAMED -Dmedner.library=lib/libmedner.so.0 \
 *        -cp medner.jar org.medner.Main (--model DIR | --base DIR --adapter DIR | --config FILE)
 *        [--precision fp32|bf16|int8|auto] [--context on|off] [--max-length N]
 *        [--segment none|sentence] [-v] FILE...
 *
 * prints one line per entity:
 * START<TAB>END<TAB>LABEL<TAB>SCORE<TAB>TEXT<TAB>FLAGS<TAB>SECTION<TAB>SENTENCE, where
 * START/END are UTF-16 offsets (Java String indices), TEXT is
 * note.substring(START, END), and the clinical context is FLAGS ("negated,family",
 * "none"), SECTION ("family_history") and SENTENCE (0-based), or "-" "-" -1 when
 * context did not run. With several FILEs (annotated in one batch) each file's
 * lines follow a line "# FILE". -v writes the library version, the precision
 * that runs, whether context is on and the segment mode to stderr. `--layouts` prints the
 * mapped structs' sizes and field offsets (checked against the C compiler's).
 */
package org.medner;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

public final class Main {
    private Main() {
    }

    private static final String USAGE =
            "usage: java -cp medner.jar org.medner.Main (--model DIR | --base DIR --adapter DIR"
            + " | --config FILE)\n"
            + "         [--precision fp32|bf16|int8|auto] [--context on|off] [--max-length N]"
            + " [--segment none|sentence] [-v] FILE...\n"
            + "       java -cp medner.jar org.medner.Main --layouts | --version";

    private static int usage(String why) {
        System.err.println("medner-java: " + why);
        System.err.println(USAGE);
        return 2;
    }

    public static void main(String[] args) throws IOException {
        System.exit(run(args));
    }

    @SuppressWarnings("resource") // stdout stays open
    static int run(String[] args) throws IOException {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
                                          StandardCharsets.UTF_8);
        if (args.length == 1 && args[0].equals("--layouts")) {
            for (StructLayout l : Native.STRUCTS) {
                String name = l.name().orElseThrow();
                out.printf(Locale.ROOT, "%s sizeof %d%n", name, l.byteSize());
                for (MemoryLayout m : l.memberLayouts())
                    out.printf(Locale.ROOT, "%s %s %d%n", name, m.name().orElseThrow(),
                               Native.offset(l, m.name().orElseThrow()));
            }
            return 0;
        }
        if (args.length == 1 && args[0].equals("--version")) {
            out.println(Pipeline.version());
            return 0;
        }
        Path model = null, config = null;
        Pipeline.Options options = new Pipeline.Options();
        boolean verbose = false, haveOptions = false;
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-v")) {
                verbose = true;
                continue;
            }
            if (!a.startsWith("--")) {
                files.add(Path.of(a));
                continue;
            }
            if (i + 1 >= args.length)
                return usage(a + " needs a value");
            String v = args[++i];
            switch (a) {
            case "--model", "--base" -> model = Path.of(v);
            case "--config" -> config = Path.of(v);
            case "--adapter" -> options.adapter(Path.of(v));
            case "--precision" -> {
                try {
                    options.precision(Precision.valueOf(v.toUpperCase(Locale.ROOT)));
                } catch (IllegalArgumentException e) {
                    return usage("unknown precision '" + v + "' (fp32, bf16, int8, auto)");
                }
            }
            case "--segment" -> {
                if (!v.equals("none") && !v.equals("sentence"))
                    return usage("--segment takes none or sentence, not '" + v + "'");
                options.segment(Segment.valueOf(v.toUpperCase(Locale.ROOT)));
            }
            case "--context" -> {
                if (!v.equals("on") && !v.equals("off"))
                    return usage("--context takes on or off, not '" + v + "'");
                options.context(v.equals("on"));
            }
            case "--max-length" -> {
                try {
                    options.maxLength(Integer.parseInt(v));
                } catch (IllegalArgumentException e) {   // NumberFormatException too
                    return usage("--max-length takes a positive integer, not '" + v + "'");
                }
            }
            default -> {
                return usage("unknown option " + a);
            }
            }
            if (!a.equals("--model") && !a.equals("--base") && !a.equals("--config"))
                haveOptions = true;
        }
        if ((model == null) == (config == null))
            return usage("give one of --model/--base and --config");
        if (files.isEmpty())
            return usage("no FILE to annotate");
        List<String> texts = new ArrayList<>();
        for (Path f : files)
            texts.add(Files.readString(f, StandardCharsets.UTF_8));

        try (Pipeline p = model != null ? Pipeline.open(model, options)
                                        : Pipeline.fromConfig(config, haveOptions ? options : null)) {
            if (verbose)
                System.err.printf(Locale.ROOT, "medner %s: precision %s, context %s, segment %s%n",
                                  Pipeline.version(), p.precision().name().toLowerCase(Locale.ROOT),
                                  p.contextEnabled() ? "on" : "off",
                                  p.segment().name().toLowerCase(Locale.ROOT));
            List<List<Entity>> all = p.annotateAll(texts);
            for (int i = 0; i < all.size(); i++) {
                if (files.size() > 1)
                    out.println("# " + files.get(i));
                for (Entity e : all.get(i))
                    out.printf(Locale.ROOT, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d%n", e.start(), e.end(),
                               e.label(), Double.toString(e.score()), e.text(), e.flags(),
                               e.hasContext() ? e.section() : "-", e.sentence());
            }
        } catch (MednerException e) {
            System.err.println("medner-java: " + e.getMessage() + " (status " + e.status() + ")");
            return 1;
        }
        return 0;
    }
}
