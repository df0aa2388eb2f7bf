package cepheus.peer.window;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.Window;
import org.apache.flink.util.Collector;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Benchmark mode: one keyed event stream through Flink's window operator (keyed, event time, heap
 * state backend) computing count/sum/avg of {@code v}, with periodic bounded-out-of-orderness
 * watermarks and a final watermark at Long.MAX_VALUE; one JSON line per window shape. See
 * README.md ("Window peer", bench mode).
 */
public final class WindowBench {
    private WindowBench() {}

    static long fired;
    static double checksumCount;
    static double checksumSum;

    /** count, sum, avg of v: what a Flink user writes for these aggregates (incremental). */
    public static final class Acc {
        public long count;
        public double sum;

        public Acc() {}
    }

    static final class CountSumAvg implements AggregateFunction<WEvent, Acc, double[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public Acc createAccumulator() {
            return new Acc();
        }

        @Override
        public Acc add(WEvent e, Acc a) {
            a.count++;
            Object v = e.vals[0];
            if (v != null) {
                a.sum += (Double) v;
            }
            return a;
        }

        @Override
        public double[] getResult(Acc a) {
            return new double[] {a.count, a.sum, a.count == 0 ? Double.NaN : a.sum / a.count};
        }

        @Override
        public Acc merge(Acc a, Acc b) {
            a.count += b.count;
            a.sum += b.sum;
            return a;
        }
    }

    /** Receives the aggregate of each firing; keeps a checksum, prints nothing. */
    static final class Counting extends ProcessWindowFunction<double[], Void, String, Window> {
        private static final long serialVersionUID = 1L;

        @Override
        public void process(String key, Context ctx, Iterable<double[]> results, Collector<Void> out) {
            for (double[] r : results) {
                fired++;
                checksumCount += r[0];
                checksumSum += r[1];
            }
        }
    }

    /** The buffering variant (--fn process): the function iterates the window's elements. */
    static final class Buffered extends ProcessWindowFunction<WEvent, Void, String, Window> {
        private static final long serialVersionUID = 1L;

        @Override
        public void process(String key, Context ctx, Iterable<WEvent> elements, Collector<Void> out) {
            long n = 0;
            double sum = 0;
            for (WEvent e : elements) {
                n++;
                if (e.vals[0] != null) {
                    sum += (Double) e.vals[0];
                }
            }
            double avg = n == 0 ? Double.NaN : sum / n;
            fired++;
            checksumCount += n;
            checksumSum += sum;
            if (avg == 42.4242) {
                checksumSum += 0; // keep avg live
            }
        }
    }

    /** Samples used heap in the background; keeps the maximum seen since the last reset. */
    static final class HeapSampler extends Thread {
        private final MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        private final List<MemoryPoolMXBean> heapPools = new ArrayList<>();
        volatile long peak;
        volatile long peakAfterGc;
        volatile boolean stop;

        HeapSampler() {
            setDaemon(true);
            setName("heap-sampler");
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && p.isCollectionUsageThresholdSupported()) {
                    heapPools.add(p);
                }
            }
        }

        long afterGc() {
            long sum = 0;
            for (MemoryPoolMXBean p : heapPools) {
                MemoryUsage u = p.getCollectionUsage();
                if (u != null) {
                    sum += u.getUsed();
                }
            }
            return sum;
        }

        void reset() {
            peak = mx.getHeapMemoryUsage().getUsed();
            peakAfterGc = afterGc();
        }

        @Override
        public void run() {
            while (!stop) {
                long u = mx.getHeapMemoryUsage().getUsed();
                if (u > peak) {
                    peak = u;
                }
                long g = afterGc();
                if (g > peakAfterGc) {
                    peakAfterGc = g;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    static final class Run {
        long events, fired, elapsedNanos, peakHeap, peakHeapAfterGc, retainedHeap, stateEntries, timers;
        /** CPU time over the timed part: this (the operator's) thread, and the whole JVM (GC, JIT too). */
        long threadCpuNanos = -1, processCpuNanos = -1;
        double checksumCount, checksumSum;
    }

    public static void main(String[] args, PrintStream out) throws Exception {
        Map<String, String> opt = new HashMap<>();
        List<String> windows = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + a);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + " needs a value");
            }
            String v = args[++i];
            if (a.equals("--window")) {
                Collections.addAll(windows, v.split(","));
            } else {
                opt.put(a.substring(2), v);
            }
        }
        if (windows.isEmpty()) {
            windows.add("sliding:300000:1000");
            windows.add("tumbling:60000");
        }
        ObjectMapper mapper = new ObjectMapper();

        long t0 = System.nanoTime();
        List<WEvent> events;
        String source;
        if (opt.containsKey("events")) {
            events = readEvents(opt.get("events"), mapper);
            source = opt.get("events");
        } else if (opt.containsKey("gen")) {
            events =
                    generate(
                            Integer.parseInt(opt.get("gen")),
                            Integer.parseInt(opt.getOrDefault("keys", "100000")),
                            Long.parseLong(opt.getOrDefault("seed", "42")),
                            Long.parseLong(opt.getOrDefault("step-ms", "1")));
            source = "gen";
            if (opt.containsKey("dump-events")) {
                dump(events, opt.get("dump-events"), mapper);
            }
        } else {
            throw new IllegalArgumentException("--events FILE or --gen N is required");
        }
        long loadMs = (System.nanoTime() - t0) / 1_000_000;

        int wmEvery = Integer.parseInt(opt.getOrDefault("watermark-every", "1000"));
        long lag = Long.parseLong(opt.getOrDefault("lag-ms", "0"));
        long lateness = Long.parseLong(opt.getOrDefault("lateness-ms", "0"));
        String fn = opt.getOrDefault("fn", "aggregate");
        if (!fn.equals("aggregate") && !fn.equals("process")) {
            throw new IllegalArgumentException("--fn is aggregate or process");
        }
        int warmupN = Integer.parseInt(opt.getOrDefault("warmup", String.valueOf(Math.min(events.size(), 200_000))));

        HeapSampler sampler = new HeapSampler();
        sampler.start();
        for (String w : windows) {
            WindowOp.Spec spec = WindowOp.Spec.parseShort(w.trim());
            Run warm = null;
            Run main;
            try {
                if (warmupN > 0) {
                    warm = run(spec, events.subList(0, Math.min(warmupN, events.size())), wmEvery, lag, lateness, fn, sampler);
                }
                main = run(spec, events, wmEvery, lag, lateness, fn, sampler);
            } catch (OutOfMemoryError oom) {
                // Flink's state did not fit in the heap: say so and go on with the next window.
                ObjectNode r = mapper.createObjectNode();
                r.put("window", w.trim());
                r.put("window_text", spec.toString());
                r.put("events", events.size());
                r.put("error", "OutOfMemoryError: " + oom.getMessage() + " (max heap " + Runtime.getRuntime().maxMemory() + " bytes)");
                out.println(mapper.writeValueAsString(r));
                out.flush();
                System.gc();
                continue;
            }

            ObjectNode r = mapper.createObjectNode();
            r.put("window", w.trim());
            r.put("window_text", spec.toString());
            r.put("events", main.events);
            r.put("fired", main.fired);
            r.put("checksum_count", main.checksumCount);
            r.put("checksum_sum", main.checksumSum);
            r.put("elapsed_ms", main.elapsedNanos / 1e6);
            r.put("events_per_sec", main.events / (main.elapsedNanos / 1e9));
            if (main.threadCpuNanos >= 0) {
                r.put("thread_cpu_ms", main.threadCpuNanos / 1e6);
            }
            if (main.processCpuNanos >= 0) {
                r.put("process_cpu_ms", main.processCpuNanos / 1e6);
            }
            r.put("peak_heap_bytes", main.peakHeap);
            r.put("peak_heap_after_gc_bytes", main.peakHeapAfterGc);
            r.put("retained_heap_bytes", main.retainedHeap);
            r.put("open_state_entries", main.stateEntries);
            r.put("event_time_timers", main.timers);
            r.put(
                    "retained_bytes_per_state_entry",
                    main.stateEntries == 0 ? 0.0 : (double) main.retainedHeap / main.stateEntries);
            if (warm != null) {
                ObjectNode wo = r.putObject("warmup");
                wo.put("events", warm.events);
                wo.put("fired", warm.fired);
                wo.put("elapsed_ms", warm.elapsedNanos / 1e6);
                wo.put("events_per_sec", warm.events / (warm.elapsedNanos / 1e9));
            }
            ObjectNode cfg = r.putObject("config");
            cfg.put("flink_version", EnvironmentInformation.getVersion());
            cfg.put("source", source);
            cfg.put("keys", opt.getOrDefault("keys", source.equals("gen") ? "100000" : "?"));
            cfg.put("fn", fn);
            cfg.put("aggregates", "count, sum(v), avg(v)");
            cfg.put("watermark_every", wmEvery);
            cfg.put("lag_ms", lag);
            cfg.put("allowed_lateness_ms", lateness);
            cfg.put("load_ms", loadMs);
            cfg.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
            ArrayNode gcs = cfg.putArray("gc");
            ManagementFactory.getGarbageCollectorMXBeans().forEach(g -> gcs.add(g.getName()));
            out.println(mapper.writeValueAsString(r));
            out.flush();
        }
        sampler.stop = true;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static Run run(
            WindowOp.Spec spec, List<WEvent> events, int wmEvery, long lag, long lateness, String fn, HeapSampler sampler)
            throws Exception {
        fired = 0;
        checksumCount = 0;
        checksumSum = 0;
        long baseline = settledHeap();
        sampler.reset();
        WindowOp.Op<Void> h =
                fn.equals("aggregate")
                        ? WindowOp.openAggregate(spec, lateness, new CountSumAvg(), TypeInformation.of(Acc.class), new Counting())
                        : WindowOp.openProcess(spec, lateness, false, new Buffered());
        Run r = new Run();
        r.events = events.size();
        try {
            long cpu0 = threadCpu();
            long proc0 = processCpu();
            long start = System.nanoTime();
            long wm = Long.MIN_VALUE;
            long maxTs = Long.MIN_VALUE;
            int sinceWm = 0;
            for (WEvent e : events) {
                h.element(e);
                if (e.ts > maxTs) {
                    maxTs = e.ts;
                }
                if (++sinceWm >= wmEvery) {
                    sinceWm = 0;
                    long next = maxTs - lag - 1;
                    if (next > wm) {
                        wm = next;
                        h.watermark(wm);
                    }
                }
            }
            long mid = System.nanoTime();
            long cpuMid = threadCpu();
            long procMid = processCpu();
            // untimed: the operator's state before the final watermark
            r.stateEntries = h.harness.numKeyedStateEntries();
            r.timers = h.harness.numEventTimeTimers();
            r.retainedHeap = Math.max(0, settledHeap() - baseline);
            long cpuResume = threadCpu();
            long procResume = processCpu();
            long resume = System.nanoTime();
            h.watermark(Long.MAX_VALUE);
            long end = System.nanoTime();
            long cpuEnd = threadCpu();
            long procEnd = processCpu();
            r.elapsedNanos = (mid - start) + (end - resume);
            if (cpu0 >= 0 && cpuEnd >= 0) {
                r.threadCpuNanos = (cpuMid - cpu0) + (cpuEnd - cpuResume);
            }
            if (proc0 >= 0 && procEnd >= 0) {
                r.processCpuNanos = (procMid - proc0) + (procEnd - procResume);
            }
            r.peakHeap = Math.max(0, sampler.peak - baseline);
            r.peakHeapAfterGc = Math.max(0, sampler.peakAfterGc - baseline);
            r.fired = fired;
            r.checksumCount = checksumCount;
            r.checksumSum = checksumSum;
        } finally {
            h.close();
        }
        return r;
    }

    /** CPU nanoseconds of the calling thread, or -1 if the JVM cannot tell. */
    static long threadCpu() {
        ThreadMXBean t = ManagementFactory.getThreadMXBean();
        return t.isCurrentThreadCpuTimeSupported() ? t.getCurrentThreadCpuTime() : -1;
    }

    /** CPU nanoseconds of the whole JVM process (all threads), or -1. */
    static long processCpu() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean) {
            return ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime();
        }
        return -1;
    }

    /**
     * Used heap after full collections: the least of three GC-then-measure rounds, so that garbage
     * a single collection leaves (e.g. of the warm-up run) does not count as live state.
     */
    static long settledHeap() {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            best = Math.min(best, usedHeap());
        }
        return best;
    }

    static long usedHeap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static List<WEvent> readEvents(String path, ObjectMapper mapper) throws Exception {
        List<WEvent> out = new ArrayList<>();
        List<String> fields = List.of("v");
        try (BufferedReader r =
                new BufferedReader(new InputStreamReader(new FileInputStream(path), StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            int seq = 0;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    WEvent e = CaseRunner.parseEvent(mapper.readTree(line), seq++, fields);
                    if (e.vals[0] instanceof Long) {
                        e.vals[0] = ((Long) e.vals[0]).doubleValue();
                    }
                    out.add(e);
                }
            }
        }
        return out;
    }

    /**
     * Deterministic synthetic stream: event i (1-based id) has ts = 1_700_000_000_000 + (i-1)*step,
     * key "k" + uniform(0..keys-1), v = uniform [0,100) rounded to 2 decimals
     * ({@code SplittableRandom(seed)}: key drawn first, then v).
     */
    static List<WEvent> generate(int n, int keys, long seed, long stepMs) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<WEvent> out = new ArrayList<>(n);
        long base = 1_700_000_000_000L;
        for (int i = 1; i <= n; i++) {
            String key = "k" + rnd.nextInt(keys);
            double v = Math.round(rnd.nextDouble() * 10000.0) / 100.0;
            long ts = base + (long) (i - 1) * stepMs;
            out.add(new WEvent(i, key, ts, i - 1, new Object[] {v}));
        }
        return out;
    }

    static void dump(List<WEvent> events, String path, ObjectMapper mapper) throws Exception {
        try (BufferedWriter w =
                new BufferedWriter(new OutputStreamWriter(new FileOutputStream(path), StandardCharsets.UTF_8), 1 << 16)) {
            for (WEvent e : events) {
                ObjectNode o = mapper.createObjectNode();
                o.put("id", e.id);
                o.put("key", e.key);
                o.put("ts", e.ts);
                o.put("v", (Double) e.vals[0]);
                w.write(mapper.writeValueAsString(o));
                w.newLine();
            }
        }
    }
}
