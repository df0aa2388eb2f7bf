package cepheus.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.functions.TimedOutPartialMatchHandler;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs one differential-test case through CepOperator and renders its output line. */
public final class CaseRunner {
    private final ObjectMapper mapper;

    private final long budgetMs;

    public CaseRunner(ObjectMapper mapper, long budgetMs) {
        this.mapper = mapper;
        this.budgetMs = budgetMs;
    }

    /** One emitted match or timed-out partial match. */
    static final class Out {
        final String partitionKey;
        final Map<String, List<Ev>> vars;
        final Long timeoutTs;

        Out(Map<String, List<Ev>> vars, Long timeoutTs) {
            this.vars = vars;
            this.timeoutTs = timeoutTs;
            this.partitionKey = firstEvent(vars).partitionKey();
        }
    }

    static Ev firstEvent(Map<String, List<Ev>> vars) {
        for (List<Ev> l : vars.values()) {
            if (!l.isEmpty()) {
                return l.get(0);
            }
        }
        throw new IllegalStateException("empty match");
    }

    /**
     * Collects matches and timeouts in the order CepOperator hands them to the user function.
     * Single-threaded; the sink is reset per case.
     */
    static final class Sink {
        static final List<Out> matches = new ArrayList<>();
        static final List<Out> timeouts = new ArrayList<>();

        static void reset() {
            matches.clear();
            timeouts.clear();
        }
    }

    /** The user function: a PatternProcessFunction that also handles timed-out partial matches. */
    static final class Collecting extends PatternProcessFunction<Ev, Void>
            implements TimedOutPartialMatchHandler<Ev> {
        private static final long serialVersionUID = 1L;

        @Override
        public void processMatch(Map<String, List<Ev>> match, Context ctx, Collector<Void> out) {
            Budget.tick();
            Sink.matches.add(new Out(match, null));
        }

        @Override
        public void processTimedOutMatch(Map<String, List<Ev>> match, Context ctx) {
            Budget.tick();
            Sink.timeouts.add(new Out(match, ctx.timestamp()));
        }
    }

    public ObjectNode run(JsonNode c) {
        ObjectNode res = mapper.createObjectNode();
        res.set("case", c.get("case") == null ? mapper.nullNode() : c.get("case"));
        ArrayNode matches = mapper.createArrayNode();
        ArrayNode timeouts = mapper.createArrayNode();
        ArrayNode late = null;
        String error = null;
        Sink.reset();
        Cep.Op<Void> h = null;
        try {
            // items: Ev, or Long for an explicit watermark ({"watermark": ts} in "events")
            List<Object> items = parseItems(c.get("events"));
            // keys in order of first appearance: output is grouped by key in this order
            LinkedHashMap<String, String> keys = new LinkedHashMap<>();
            boolean explicitWatermarks = false;
            for (Object o : items) {
                if (o instanceof Ev) {
                    Ev e = (Ev) o;
                    keys.putIfAbsent(e.partitionKey(), e.key);
                } else {
                    explicitWatermarks = true;
                }
            }
            Pattern<Ev, Ev> pattern = PatternSpec.build(c.get("pattern"));
            h = Cep.open(pattern, new Collecting());
            Budget.start(budgetMs);

            JsonNode lagNode = c.get("watermark_lag_ms");
            boolean autoWatermarks = lagNode != null && !lagNode.isNull();
            long lag = autoWatermarks ? lagNode.asLong() : 0;
            if (autoWatermarks || explicitWatermarks) {
                late = mapper.createArrayNode();
            }
            long wm = Long.MIN_VALUE; // CepOperator's current watermark
            long maxTs = Long.MIN_VALUE;
            for (Object o : items) {
                if (o instanceof Long) {
                    long w = (Long) o;
                    if (w > wm) { // watermarks only move forward
                        wm = w;
                        h.watermark(wm);
                    }
                    continue;
                }
                Ev e = (Ev) o;
                if (e.ts <= wm) {
                    late.add(e.id); // CepOperator drops it: timestamp <= currentWatermark
                }
                h.element(e);
                if (autoWatermarks) {
                    // like BoundedOutOfOrdernessWatermarks, emitted after every event
                    maxTs = Math.max(maxTs, e.ts);
                    long next = maxTs - lag - 1;
                    if (next > wm) {
                        wm = next;
                        h.watermark(wm);
                    }
                }
            }
            if (wm < Long.MAX_VALUE) {
                h.watermark(Long.MAX_VALUE); // end of input: fires all timers, times out windows
            }

            for (String k : keys.keySet()) {
                for (Out o : Sink.matches) {
                    if (o.partitionKey.equals(k)) {
                        matches.add(render(o));
                    }
                }
                for (Out o : Sink.timeouts) {
                    if (o.partitionKey.equals(k)) {
                        timeouts.add(render(o));
                    }
                }
            }
        } catch (ThreadDeath td) {
            throw td; // stopped by Main's watchdog
        } catch (Throwable t) {
            error = describe(t);
            matches.removeAll();
            timeouts.removeAll();
        } finally {
            Budget.stop();
            Sink.reset();
            if (h != null) {
                try {
                    h.close();
                } catch (Throwable ignored) {
                    // the case's result is already decided
                }
            }
        }
        res.set("matches", matches);
        res.set("timeouts", timeouts);
        if (late != null) {
            res.set("late", late);
        }
        if (error == null) {
            res.putNull("error");
        } else {
            res.put("error", error);
        }
        return res;
    }

    /** The result line of a case that produced no result: only "case" and "error". */
    public ObjectNode errorResult(JsonNode c, String error) {
        ObjectNode res = mapper.createObjectNode();
        res.set("case", c == null || c.get("case") == null ? mapper.nullNode() : c.get("case"));
        res.putArray("matches");
        res.putArray("timeouts");
        res.put("error", error);
        return res;
    }

    private ObjectNode render(Out o) {
        ObjectNode m = mapper.createObjectNode();
        Ev first = firstEvent(o.vars);
        if (first.key == null) {
            m.putNull("key");
        } else {
            m.put("key", first.key);
        }
        ObjectNode vars = m.putObject("vars");
        for (Map.Entry<String, List<Ev>> e : o.vars.entrySet()) {
            ArrayNode ids = vars.putArray(e.getKey());
            for (Ev ev : e.getValue()) {
                ids.add(ev.id);
            }
        }
        if (o.timeoutTs != null) {
            m.put("timeout_ts", o.timeoutTs);
        }
        return m;
    }

    static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return root.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }

    /** The "events" array: events, and {"watermark": ts} objects (returned as Long). */
    public static List<Object> parseItems(JsonNode arr) {
        List<Object> out = new ArrayList<>();
        if (arr == null || arr.isNull()) {
            return out;
        }
        if (!arr.isArray()) {
            throw new IllegalArgumentException("events must be an array");
        }
        for (JsonNode n : arr) {
            JsonNode w = n.get("watermark");
            if (w != null && !n.has("id")) {
                if (!w.canConvertToLong()) {
                    throw new IllegalArgumentException("watermark must be an integer: " + n);
                }
                out.add(w.asLong());
            } else {
                out.add(parseEvent(n));
            }
        }
        return out;
    }

    public static Ev parseEvent(JsonNode n) {
        if (!n.isObject()) {
            throw new IllegalArgumentException("event must be an object: " + n);
        }
        JsonNode id = n.get("id");
        JsonNode ts = n.get("ts");
        if (id == null || !id.canConvertToLong() || ts == null || !ts.canConvertToLong()) {
            throw new IllegalArgumentException("event needs integer \"id\" and \"ts\": " + n);
        }
        JsonNode k = n.get("key");
        String key = k == null || k.isNull() ? null : k.asText();
        Map<String, Object> fields = Ev.newFieldMap();
        Iterator<Map.Entry<String, JsonNode>> it = n.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            fields.put(f.getKey(), Expr.jsonValue(f.getValue()));
        }
        return new Ev(id.asLong(), key, ts.asLong(), fields);
    }
}
