package cepheus.peer.window;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The aggregates of a case, computed exactly over the elements of a fired window (see README.md,
 * "Window peer", for the semantics of each function). The window operator hands the window's
 * elements to the {@code ProcessWindowFunction}; this class is that function's arithmetic.
 *
 * <p>Sums, averages and standard deviations are computed in exact decimal arithmetic
 * ({@link BigDecimal}: every double is an exact binary fraction) and rounded to a double once, so
 * the peer's numbers are the true values correctly rounded, independent of the order in which the
 * operator hands over the elements.
 */
public final class Aggs {
    private Aggs() {}

    public enum Func {
        COUNT,
        COUNT_NONNULL,
        COUNT_DISTINCT,
        SUM,
        AVG,
        MIN,
        MAX,
        STDDEV,
        FIRST,
        LAST,
        PERCENTILE;

        static Func parse(String s) {
            switch (s) {
                case "count":
                    return COUNT;
                case "count_nonnull":
                    return COUNT_NONNULL;
                case "count_distinct":
                    return COUNT_DISTINCT;
                case "sum":
                    return SUM;
                case "avg":
                    return AVG;
                case "min":
                    return MIN;
                case "max":
                    return MAX;
                case "stddev":
                    return STDDEV;
                case "first":
                    return FIRST;
                case "last":
                    return LAST;
                case "percentile":
                    return PERCENTILE;
                default:
                    throw new IllegalArgumentException("unknown aggregate function '" + s + "'");
            }
        }
    }

    /** One aggregate: the function, the index of its field in {@link WEvent#vals} (-1: none), q. */
    public static final class Spec {
        public final Func func;
        public final int field;
        public final double q;

        Spec(Func func, int field, double q) {
            this.func = func;
            this.field = field;
            this.q = q;
        }
    }

    /** The case's aggregates and the fields they read (the layout of {@link WEvent#vals}). */
    public static final class Plan {
        public final List<Spec> specs = new ArrayList<>();
        public final List<String> fields = new ArrayList<>();

        public static Plan parse(JsonNode aggregates) {
            Plan p = new Plan();
            if (aggregates == null || !aggregates.isArray()) {
                throw new IllegalArgumentException("\"aggregates\" must be an array");
            }
            for (JsonNode a : aggregates) {
                Func f = Func.parse(a.path("func").asText(""));
                int field = -1;
                JsonNode fn = a.get("field");
                if (fn != null && !fn.isNull()) {
                    String name = fn.asText();
                    field = p.fields.indexOf(name);
                    if (field < 0) {
                        p.fields.add(name);
                        field = p.fields.size() - 1;
                    }
                } else if (f != Func.COUNT) {
                    throw new IllegalArgumentException(a.path("func").asText() + " needs a \"field\"");
                }
                double q = 0;
                if (f == Func.PERCENTILE) {
                    JsonNode qn = a.get("q");
                    if (qn == null || !qn.isNumber() || qn.asDouble() < 0 || qn.asDouble() > 1) {
                        throw new IllegalArgumentException("percentile needs \"q\" in [0, 1]");
                    }
                    q = qn.asDouble();
                }
                p.specs.add(new Spec(f, field, q));
            }
            return p;
        }
    }

    /** The values of all aggregates over {@code events} (the window's elements, any order). */
    public static Object[] compute(List<Spec> specs, List<WEvent> events) {
        Object[] out = new Object[specs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = compute(specs.get(i), events);
        }
        return out;
    }

    static Object compute(Spec s, List<WEvent> events) {
        switch (s.func) {
            case COUNT:
                return (long) events.size();
            case COUNT_NONNULL: {
                long n = 0;
                for (WEvent e : events) {
                    if (e.vals[s.field] != null) {
                        n++;
                    }
                }
                return n;
            }
            case COUNT_DISTINCT: {
                Set<Object> seen = new HashSet<>();
                for (WEvent e : events) {
                    Object v = e.vals[s.field];
                    if (v != null) {
                        seen.add(normalize(v));
                    }
                }
                return (long) seen.size();
            }
            case SUM:
                return sum(s, events);
            case AVG: {
                List<Object> xs = nonNull(s, events);
                if (xs.isEmpty()) {
                    return null;
                }
                BigDecimal sum = BigDecimal.ZERO;
                for (Object x : xs) {
                    sum = sum.add(decimal(x, "avg"));
                }
                return sum.divide(BigDecimal.valueOf(xs.size()), MathContext.DECIMAL128).doubleValue();
            }
            case MIN:
            case MAX: {
                Object best = null;
                for (WEvent e : events) {
                    Object v = e.vals[s.field];
                    if (v == null) {
                        continue;
                    }
                    if (best == null) {
                        best = v;
                    } else {
                        int c = compareValues(v, best);
                        if (s.func == Func.MIN ? c < 0 : c > 0) {
                            best = v;
                        }
                    }
                }
                return best;
            }
            case STDDEV: {
                List<Object> xs = nonNull(s, events);
                int n = xs.size();
                if (n < 2) {
                    return null;
                }
                BigDecimal sum = BigDecimal.ZERO;
                BigDecimal sumSq = BigDecimal.ZERO;
                for (Object x : xs) {
                    BigDecimal d = decimal(x, "stddev");
                    sum = sum.add(d);
                    sumSq = sumSq.add(d.multiply(d));
                }
                BigDecimal bn = BigDecimal.valueOf(n);
                // sample variance = (n*sum(x^2) - sum(x)^2) / (n*(n-1)); the numerator is exact
                BigDecimal num = bn.multiply(sumSq).subtract(sum.multiply(sum));
                if (num.signum() <= 0) {
                    return 0.0;
                }
                BigDecimal var = num.divide(bn.multiply(BigDecimal.valueOf(n - 1)), new MathContext(60));
                return var.sqrt(new MathContext(40)).doubleValue();
            }
            case FIRST:
            case LAST: {
                WEvent pick = null;
                for (WEvent e : events) {
                    if (pick == null || (s.func == Func.FIRST ? e.seq < pick.seq : e.seq > pick.seq)) {
                        pick = e;
                    }
                }
                return pick == null ? null : pick.vals[s.field];
            }
            case PERCENTILE: {
                List<Object> xs = nonNull(s, events);
                int n = xs.size();
                if (n == 0) {
                    return null;
                }
                double[] d = new double[n];
                for (int i = 0; i < n; i++) {
                    d[i] = number(xs.get(i), "percentile");
                }
                java.util.Arrays.sort(d);
                // nearest rank: the ceil(q*n)-th smallest (1-based), q*n in IEEE double arithmetic
                long rank = (long) Math.ceil(s.q * n);
                if (rank < 1) {
                    rank = 1;
                }
                if (rank > n) {
                    rank = n;
                }
                return d[(int) rank - 1];
            }
            default:
                throw new IllegalStateException();
        }
    }

    static Object sum(Spec s, List<WEvent> events) {
        List<Object> xs = nonNull(s, events);
        if (xs.isEmpty()) {
            return null;
        }
        boolean allLong = true;
        for (Object x : xs) {
            if (!(x instanceof Long)) {
                allLong = false;
                break;
            }
        }
        if (allLong) {
            long t = 0;
            for (Object x : xs) {
                t = Math.addExact(t, (Long) x);
            }
            return t;
        }
        BigDecimal t = BigDecimal.ZERO;
        for (Object x : xs) {
            t = t.add(decimal(x, "sum"));
        }
        return t.doubleValue();
    }

    static List<Object> nonNull(Spec s, List<WEvent> events) {
        List<Object> xs = new ArrayList<>(events.size());
        for (WEvent e : events) {
            Object v = e.vals[s.field];
            if (v != null) {
                xs.add(v);
            }
        }
        return xs;
    }

    static BigDecimal decimal(Object x, String func) {
        if (x instanceof Long) {
            return BigDecimal.valueOf((Long) x);
        }
        if (x instanceof Double) {
            double d = (Double) x;
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new IllegalArgumentException(func + " over a non-finite number");
            }
            return new BigDecimal(d); // exact binary value
        }
        throw new IllegalArgumentException(func + " needs numbers, got " + x.getClass().getSimpleName());
    }

    static double number(Object x, String func) {
        if (x instanceof Long) {
            return (double) (Long) x;
        }
        if (x instanceof Double) {
            return (Double) x;
        }
        throw new IllegalArgumentException(func + " needs numbers, got " + x.getClass().getSimpleName());
    }

    /** Equality classes for count_distinct: numbers by value (1 = 1.0, -0.0 = 0.0). */
    static Object normalize(Object v) {
        if (v instanceof Long) {
            return (double) (Long) v;
        }
        if (v instanceof Double && (Double) v == 0.0) {
            return 0.0;
        }
        return v;
    }

    /** Numbers by value, strings by Unicode code point, false < true; other mixes are errors. */
    static int compareValues(Object a, Object b) {
        if (a instanceof Long && b instanceof Long) {
            return Long.compare((Long) a, (Long) b);
        }
        if (a instanceof Number && b instanceof Number) {
            return Double.compare(((Number) a).doubleValue() + 0.0, ((Number) b).doubleValue() + 0.0);
        }
        if (a instanceof String && b instanceof String) {
            return CODE_POINT_ORDER.compare((String) a, (String) b);
        }
        if (a instanceof Boolean && b instanceof Boolean) {
            return Boolean.compare((Boolean) a, (Boolean) b);
        }
        throw new IllegalArgumentException(
                "min/max over values of different types: " + a.getClass().getSimpleName() + ", " + b.getClass().getSimpleName());
    }

    static final Comparator<String> CODE_POINT_ORDER =
            (x, y) -> {
                int i = 0, j = 0;
                while (i < x.length() && j < y.length()) {
                    int cx = x.codePointAt(i), cy = y.codePointAt(j);
                    if (cx != cy) {
                        return Integer.compare(cx, cy);
                    }
                    i += Character.charCount(cx);
                    j += Character.charCount(cy);
                }
                return Integer.compare(x.length() - i, y.length() - j);
            };
}
