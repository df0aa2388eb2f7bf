package cepheus.peer.window;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The Flink window peer. See README.md ("Window peer") for the contract.
 *
 * <pre>
 *   Main [--timing] [CASES.jsonl | -]     differential-test mode: one case per line, one result per line
 *   Main --bench ...                     benchmark mode (see WindowBench)
 * </pre>
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(
                    "usage: cepheus.peer.window.Main [--timing] [CASES.jsonl|-]\n"
                            + "       cepheus.peer.window.Main --bench [--window tumbling:60000|sliding:300000:1000|session:G|count:N[:M]]...\n"
                            + "            (--events E.jsonl | --gen N [--keys K] [--seed S] [--step-ms D] [--dump-events F.jsonl])\n"
                            + "            [--warmup W] [--watermark-every E] [--lag-ms L] [--lateness-ms A] [--fn aggregate|process]");
            return;
        }
        // Flink and its harness may print to stdout; keep stdout for our JSON lines only.
        PrintStream realOut = System.out;
        System.setOut(System.err);
        if (args.length > 0 && args[0].equals("--bench")) {
            WindowBench.main(Arrays.copyOfRange(args, 1, args.length), realOut);
            System.exit(0);
        }
        boolean timing = false;
        String path = "-";
        for (String a : args) {
            if (a.equals("--timing")) {
                timing = true;
            } else {
                path = a;
            }
        }
        runCases(path, realOut, timing);
        System.exit(0);
    }

    static void runCases(String path, PrintStream out, boolean timing) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        CaseRunner runner = new CaseRunner(mapper);
        InputStream in = path.equals("-") ? System.in : new FileInputStream(path);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                BufferedWriter w =
                        new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                long t0 = System.nanoTime();
                JsonNode c;
                try {
                    c = mapper.readTree(line);
                } catch (Exception e) {
                    c = null;
                }
                ObjectNode result =
                        c == null || !c.isObject()
                                ? runner.errorResult(null, "bad case JSON: not a JSON object")
                                : runner.run(c);
                if (timing) {
                    result.put("elapsed_ms", (System.nanoTime() - t0) / 1e6);
                }
                w.write(mapper.writeValueAsString(result));
                w.newLine();
                w.flush();
            }
        }
    }
}
