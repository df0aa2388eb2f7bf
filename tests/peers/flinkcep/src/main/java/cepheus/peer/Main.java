package cepheus.peer;

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
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;

/**
 * The FlinkCEP peer. See README.md for the contract.
 *
 * <pre>
 *   Main [--timing] [--case-budget-ms MS] [CASES.jsonl | -]   differential-test mode
 *   Main --bench ...                                         benchmark mode (see Bench)
 * </pre>
 */
public final class Main {
    private Main() {}

    /** Extra time a case gets after its cooperative budget before its thread is stopped. */
    static final long GRACE_MS = 2_000;

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(
                    "usage: Main [--timing] [--case-budget-ms MS] [CASES.jsonl|-]\n"
                            + "       Main --bench --pattern P.json (--events E.jsonl | --gen N [--keys K]"
                            + " [--seed S] [--step-ms D] [--types a,b,c] [--dump-events F.jsonl])\n"
                            + "            [--warmup W] [--watermark-every E] [--lag-ms L] [--timeouts]");
            return;
        }
        // Flink and its harness may print to stdout; keep stdout for our JSON lines only.
        PrintStream realOut = System.out;
        System.setOut(System.err);
        if (args.length > 0 && args[0].equals("--bench")) {
            Bench.main(Arrays.copyOfRange(args, 1, args.length), realOut);
            System.exit(0);
        }
        boolean timing = false;
        long budgetMs = 10_000;
        String path = "-";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--timing")) {
                timing = true;
            } else if (a.equals("--case-budget-ms")) {
                budgetMs = Long.parseLong(args[++i]);
            } else {
                path = a;
            }
        }
        runCases(path, realOut, timing, budgetMs);
        System.exit(0);
    }

    /** Runs cases one at a time on a worker thread that can be replaced if a case overruns. */
    static final class Worker {
        private final CaseRunner runner;
        private final SynchronousQueue<JsonNode> in = new SynchronousQueue<>();
        private final SynchronousQueue<ObjectNode> out = new SynchronousQueue<>();
        private final Thread thread;

        Worker(CaseRunner runner) {
            this.runner = runner;
            this.thread = new Thread(this::loop, "case-worker");
            this.thread.setDaemon(true);
            this.thread.start();
        }

        private void loop() {
            try {
                while (true) {
                    JsonNode c = in.take();
                    out.put(runner.run(c));
                }
            } catch (InterruptedException e) {
                // shut down
            }
        }

        /** The case's result, or null if it did not finish within timeoutMs. */
        ObjectNode run(JsonNode c, long timeoutMs) throws InterruptedException {
            in.put(c);
            return timeoutMs > 0 ? out.poll(timeoutMs, TimeUnit.MILLISECONDS) : out.take();
        }

        @SuppressWarnings({"deprecation", "removal"})
        void kill() throws InterruptedException {
            thread.stop(); // Java 17: throws ThreadDeath in the runaway FlinkCEP loop
            thread.join(10_000);
        }
    }

    static void runCases(String path, PrintStream out, boolean timing, long budgetMs) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        CaseRunner runner = new CaseRunner(mapper, budgetMs);
        Worker worker = new Worker(runner);
        InputStream in = path.equals("-") ? System.in : new FileInputStream(path);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
                BufferedWriter w =
                        new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                ObjectNode result;
                long t0 = System.nanoTime();
                JsonNode c;
                try {
                    c = mapper.readTree(line);
                } catch (Exception e) {
                    c = null;
                }
                if (c == null || !c.isObject()) {
                    result = runner.errorResult(null, "bad case JSON: not a JSON object");
                } else {
                    result = worker.run(c, budgetMs > 0 ? budgetMs + GRACE_MS : 0);
                    if (result == null) {
                        worker.kill();
                        worker = new Worker(runner);
                        result = runner.errorResult(c, Budget.message(budgetMs));
                    }
                }
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
