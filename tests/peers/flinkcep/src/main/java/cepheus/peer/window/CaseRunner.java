package cepheus.peer.window;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.api.windowing.windows.Window;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs one window case through Flink's window operator and renders its output line. */
public final class CaseRunner {
    private final ObjectMapper mapper;

    public CaseRunner(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** One firing of a window, as the ProcessWindowFunction saw it. */
    static final class Firing {
        String key;
        Long start, end;
        Boolean update;
        Integer index;
        Object[] values;
        int at;
        long wm;
    }

    /**
     * Where the process function reports firings. Single-threaded; reset per case. Besides the
     * values it numbers each key's count-window firings ({@code index}); whether a time window's
     * firing is an update comes from {@link FiredFlagTrigger}.
     */
    static final class Sink {
        static Aggs.Plan plan;
        static final List<Firing> firings = new ArrayList<>();
        static final Map<String, Integer> countFirings = new HashMap<>();
        /** Index of the input item being processed (events.length = the final watermark). */
        static int step;

        static void reset(Aggs.Plan p) {
            plan = p;
            firings.clear();
            FiredFlagTrigger.pendingUpdate = null;
            countFirings.clear();
            step = 0;
        }

        static void fire(String key, Window w, Iterable<WEvent> elements, long wm) {
            List<WEvent> list = new ArrayList<>();
            for (WEvent e : elements) {
                list.add(e);
            }
            Firing f = new Firing();
            f.key = key;
            f.values = Aggs.compute(plan.specs, list);
            f.at = step;
            f.wm = wm;
            if (w instanceof TimeWindow) {
                TimeWindow tw = (TimeWindow) w;
                long s = tw.getStart(), e = tw.getEnd();
                f.start = s;
                f.end = e;
                // Set by FiredFlagTrigger when the trigger said FIRE, just before this call.
                if (FiredFlagTrigger.pendingUpdate == null) {
                    throw new IllegalStateException("a time window fired without its trigger saying FIRE");
                }
                f.update = FiredFlagTrigger.pendingUpdate;
                FiredFlagTrigger.pendingUpdate = null;
            } else {
                f.index = countFirings.merge(key, 1, Integer::sum) - 1;
            }
            firings.add(f);
        }
    }

    /** The user function: hands every firing's elements to the sink. */
    static final class Collecting extends ProcessWindowFunction<WEvent, Void, String, Window> {
        private static final long serialVersionUID = 1L;

        @Override
        public void process(String key, Context ctx, Iterable<WEvent> elements, Collector<Void> out) {
            Sink.fire(key, ctx.window(), elements, ctx.currentWatermark());
        }
    }

    /** Parses one event; {@code fields} is the layout of {@link WEvent#vals}. */
    static WEvent parseEvent(JsonNode e, int seq, List<String> fields) {
        JsonNode ts = e.get("ts");
        if (ts == null || !ts.canConvertToLong()) {
            throw new IllegalArgumentException("event " + seq + " has no integer \"ts\": " + e);
        }
        JsonNode idn = e.get("id");
        long id = idn != null && idn.canConvertToLong() ? idn.asLong() : seq;
        JsonNode k = e.get("key");
        String key = k == null || k.isNull() ? null : k.isTextual() ? k.asText() : k.toString();
        Object[] vals = new Object[fields.size()];
        for (int i = 0; i < vals.length; i++) {
            vals[i] = value(e.get(fields.get(i)));
        }
        return new WEvent(id, key, ts.asLong(), seq, vals);
    }

    static Object value(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        if (n.isNumber()) {
            return n.asDouble();
        }
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        return n.toString();
    }

    public ObjectNode run(JsonNode c) {
        JsonNode caseId = c.get("case");
        try {
            return runUnchecked(c);
        } catch (Throwable t) {
            return errorResult(caseId, describe(t));
        }
    }

    ObjectNode runUnchecked(JsonNode c) throws Exception {
        WindowOp.Spec spec = WindowOp.Spec.parse(c.get("window"));
        Aggs.Plan plan = Aggs.Plan.parse(c.get("aggregates"));
        long lateness = c.path("allowed_lateness_ms").asLong(0);
        if (lateness < 0) {
            throw new IllegalArgumentException("allowed_lateness_ms must be >= 0");
        }
        JsonNode wmSpec = c.get("watermark");
        Long lag = null;
        if (wmSpec != null && !wmSpec.isNull()) {
            JsonNode l = wmSpec.get("lag_ms");
            if (l != null && !l.isNull()) {
                lag = l.asLong();
            }
        }
        JsonNode evs = c.get("events");
        if (evs == null || !evs.isArray()) {
            throw new IllegalArgumentException("\"events\" must be an array");
        }
        // Parse everything before the operator sees anything.
        List<Object> items = new ArrayList<>();
        int seq = 0;
        for (JsonNode e : evs) {
            if (e.has("watermark") && !e.has("id")) {
                items.add(e.get("watermark").asLong());
            } else {
                items.add(parseEvent(e, seq++, plan.fields));
            }
        }

        Sink.reset(plan);
        List<Long> lateIds = new ArrayList<>();
        long wm = Long.MIN_VALUE;
        long maxTs = Long.MIN_VALUE;
        try (WindowOp.Op<Void> op = WindowOp.openProcess(spec, lateness, true, new Collecting())) {
            int step = 0;
            for (Object item : items) {
                Sink.step = step++;
                if (item instanceof Long) {
                    long t = (Long) item;
                    if (t > wm) {
                        wm = t;
                        op.watermark(wm);
                    }
                    continue;
                }
                WEvent e = (WEvent) item;
                long before = op.lateDropped();
                op.element(e);
                if (op.lateDropped() > before) {
                    lateIds.add(e.id);
                }
                maxTs = Math.max(maxTs, e.ts);
                if (lag != null) {
                    // BoundedOutOfOrdernessWatermarks, emitted after every event
                    long next = maxTs - lag - 1;
                    if (next > wm) {
                        wm = next;
                        op.watermark(wm);
                    }
                }
            }
            Sink.step = step;
            op.watermark(Long.MAX_VALUE);
        }

        ObjectNode r = mapper.createObjectNode();
        r.set("case", c.get("case"));
        ArrayNode fs = r.putArray("firings");
        for (Firing f : Sink.firings) {
            ObjectNode o = fs.addObject();
            if (f.key.equals(WEvent.NO_KEY)) {
                o.putNull("key");
            } else {
                o.put("key", f.key);
            }
            if (f.start == null) {
                o.putNull("start");
                o.putNull("end");
                o.put("index", f.index);
            } else {
                o.put("start", f.start);
                o.put("end", f.end);
                o.put("update", f.update);
            }
            ArrayNode vs = o.putArray("values");
            for (Object v : f.values) {
                addValue(vs, v);
            }
            o.put("at", f.at);
            if (f.wm == Long.MIN_VALUE) {
                o.putNull("wm");
            } else {
                o.put("wm", f.wm);
            }
        }
        r.put("late_dropped", lateIds.size());
        ArrayNode li = r.putArray("late_ids");
        for (long id : lateIds) {
            li.add(id);
        }
        r.putNull("error");
        Sink.reset(null);
        return r;
    }

    static void addValue(ArrayNode a, Object v) {
        if (v == null) {
            a.addNull();
        } else if (v instanceof Long) {
            a.add((Long) v);
        } else if (v instanceof Double) {
            double d = (Double) v;
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                a.addNull();
            } else {
                a.add(d);
            }
        } else if (v instanceof Boolean) {
            a.add((Boolean) v);
        } else {
            a.add(v.toString());
        }
    }

    ObjectNode errorResult(JsonNode caseId, String error) {
        ObjectNode r = mapper.createObjectNode();
        if (caseId == null) {
            r.putNull("case");
        } else {
            r.set("case", caseId);
        }
        r.putArray("firings");
        r.put("late_dropped", 0);
        r.putArray("late_ids");
        r.put("error", error);
        return r;
    }

    static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
