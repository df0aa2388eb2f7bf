package cepheus.peer;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The small JSON expression language of the peer's input contract (see README.md, "Expr").
 * Values are String, Double, Boolean or null.
 */
public abstract class Expr implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Gives the events already accepted for a pattern variable (IterativeCondition context). */
    public interface VarLookup {
        Iterable<Ev> eventsFor(String var) throws Exception;
    }

    public abstract Object eval(Ev ev, VarLookup ctx) throws Exception;

    /** True if the tree contains an aggregate over earlier variables. */
    public abstract boolean hasAgg();

    public static boolean isTrue(Object v) {
        return Boolean.TRUE.equals(v);
    }

    // ------------------------------------------------------------------ parsing

    public static Expr parse(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("expression must be a JSON object: " + n);
        }
        if (n.has("lit")) {
            return new Lit(jsonValue(n.get("lit")));
        }
        if (n.has("agg")) {
            String agg = n.get("agg").asText();
            JsonNode var = n.get("var");
            if (var == null || !var.isTextual()) {
                throw new IllegalArgumentException("agg needs a \"var\": " + n);
            }
            JsonNode field = n.get("field");
            String f = field == null || field.isNull() ? null : field.asText();
            if (!agg.equals("count") && f == null) {
                throw new IllegalArgumentException("agg " + agg + " needs a \"field\": " + n);
            }
            switch (agg) {
                case "first":
                case "last":
                case "count":
                case "sum":
                case "min":
                case "max":
                case "avg":
                    return new Agg(agg, var.asText(), f);
                default:
                    throw new IllegalArgumentException("unknown agg " + agg);
            }
        }
        if (n.has("field")) {
            return new Field(n.get("field").asText());
        }
        if (n.has("op")) {
            String op = n.get("op").asText();
            List<Expr> args = new ArrayList<>();
            JsonNode a = n.get("args");
            if (a != null) {
                for (JsonNode x : a) {
                    args.add(parse(x));
                }
            }
            switch (op) {
                case "and":
                case "or":
                    return new Logic(op, args.toArray(new Expr[0]));
                case "not":
                    arity(op, args, 1);
                    return new Not(args.get(0));
                case "==":
                case "!=":
                case "<":
                case "<=":
                case ">":
                case ">=":
                    arity(op, args, 2);
                    return new Cmp(op, args.get(0), args.get(1));
                case "+":
                case "-":
                case "*":
                case "/":
                    arity(op, args, 2);
                    return new Arith(op.charAt(0), args.get(0), args.get(1));
                default:
                    throw new IllegalArgumentException("unknown op " + op);
            }
        }
        throw new IllegalArgumentException("unrecognised expression " + n);
    }

    private static void arity(String op, List<Expr> args, int n) {
        if (args.size() != n) {
            throw new IllegalArgumentException("op " + op + " takes " + n + " args, got " + args.size());
        }
    }

    /** JSON scalar -> String | Double | Boolean | null (objects/arrays become their JSON text). */
    public static Object jsonValue(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return null;
        }
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isBoolean()) {
            return v.booleanValue();
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        return v.toString();
    }

    // ------------------------------------------------------------------ nodes

    static final class Lit extends Expr {
        private static final long serialVersionUID = 1L;
        final Object value;

        Lit(Object value) {
            this.value = value;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) {
            return value;
        }

        @Override
        public boolean hasAgg() {
            return false;
        }
    }

    static final class Field extends Expr {
        private static final long serialVersionUID = 1L;
        final String name;

        Field(String name) {
            this.name = name;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) {
            return ev.get(name);
        }

        @Override
        public boolean hasAgg() {
            return false;
        }
    }

    static final class Logic extends Expr {
        private static final long serialVersionUID = 1L;
        final boolean isAnd;
        final Expr[] args;

        Logic(String op, Expr[] args) {
            this.isAnd = op.equals("and");
            this.args = args;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) throws Exception {
            for (Expr a : args) {
                boolean t = isTrue(a.eval(ev, ctx));
                if (isAnd && !t) {
                    return false;
                }
                if (!isAnd && t) {
                    return true;
                }
            }
            return isAnd;
        }

        @Override
        public boolean hasAgg() {
            for (Expr a : args) {
                if (a.hasAgg()) {
                    return true;
                }
            }
            return false;
        }
    }

    static final class Not extends Expr {
        private static final long serialVersionUID = 1L;
        final Expr arg;

        Not(Expr arg) {
            this.arg = arg;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) throws Exception {
            return !isTrue(arg.eval(ev, ctx));
        }

        @Override
        public boolean hasAgg() {
            return arg.hasAgg();
        }
    }

    static final class Cmp extends Expr {
        private static final long serialVersionUID = 1L;
        final String op;
        final Expr l, r;

        Cmp(String op, Expr l, Expr r) {
            this.op = op;
            this.l = l;
            this.r = r;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) throws Exception {
            Object a = l.eval(ev, ctx);
            Object b = r.eval(ev, ctx);
            if (a == null || b == null) {
                return false;
            }
            int c;
            if (a instanceof Double && b instanceof Double) {
                double x = (Double) a, y = (Double) b;
                if (Double.isNaN(x) || Double.isNaN(y)) {
                    return false;
                }
                c = Double.compare(x == 0.0 ? 0.0 : x, y == 0.0 ? 0.0 : y); // -0.0 == 0.0
            } else if (a instanceof String && b instanceof String) {
                c = compareCodePoints((String) a, (String) b);
            } else if (a instanceof Boolean && b instanceof Boolean) {
                if (op.equals("==")) {
                    return a.equals(b);
                }
                if (op.equals("!=")) {
                    return !a.equals(b);
                }
                return false;
            } else {
                // values of different types: never equal, not ordered
                return op.equals("!=");
            }
            switch (op) {
                case "==":
                    return c == 0;
                case "!=":
                    return c != 0;
                case "<":
                    return c < 0;
                case "<=":
                    return c <= 0;
                case ">":
                    return c > 0;
                default:
                    return c >= 0;
            }
        }

        @Override
        public boolean hasAgg() {
            return l.hasAgg() || r.hasAgg();
        }
    }

    /** Compares by Unicode code point (the same order as comparing UTF-8 bytes). */
    static int compareCodePoints(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i), y = b.codePointAt(j);
            if (x != y) {
                return Integer.compare(x, y);
            }
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    static final class Arith extends Expr {
        private static final long serialVersionUID = 1L;
        final char op;
        final Expr l, r;

        Arith(char op, Expr l, Expr r) {
            this.op = op;
            this.l = l;
            this.r = r;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) throws Exception {
            Object a = l.eval(ev, ctx);
            Object b = r.eval(ev, ctx);
            if (!(a instanceof Double) || !(b instanceof Double)) {
                return null;
            }
            double x = (Double) a, y = (Double) b;
            switch (op) {
                case '+':
                    return x + y;
                case '-':
                    return x - y;
                case '*':
                    return x * y;
                default:
                    return y == 0.0 ? null : x / y;
            }
        }

        @Override
        public boolean hasAgg() {
            return l.hasAgg() || r.hasAgg();
        }
    }

    static final class Agg extends Expr {
        private static final long serialVersionUID = 1L;
        final String agg;
        final String var;
        final String field;

        Agg(String agg, String var, String field) {
            this.agg = agg;
            this.var = var;
            this.field = field;
        }

        @Override
        public Object eval(Ev ev, VarLookup ctx) throws Exception {
            if (ctx == null) {
                throw new IllegalStateException("aggregate evaluated without a pattern context");
            }
            Iterable<Ev> events = ctx.eventsFor(var);
            Iterator<Ev> it = events == null ? null : events.iterator();
            switch (agg) {
                case "first":
                    return it != null && it.hasNext() ? it.next().get(field) : null;
                case "last": {
                    Ev last = null;
                    while (it != null && it.hasNext()) {
                        last = it.next();
                    }
                    return last == null ? null : last.get(field);
                }
                case "count": {
                    long n = 0;
                    while (it != null && it.hasNext()) {
                        it.next();
                        n++;
                    }
                    return (double) n;
                }
                default: {
                    double sum = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
                    long n = 0;
                    while (it != null && it.hasNext()) {
                        Object v = it.next().get(field);
                        if (v instanceof Double) {
                            double d = (Double) v;
                            sum += d;
                            min = Math.min(min, d);
                            max = Math.max(max, d);
                            n++;
                        }
                    }
                    switch (agg) {
                        case "sum":
                            return sum;
                        case "min":
                            return n == 0 ? null : min;
                        case "max":
                            return n == 0 ? null : max;
                        default:
                            return n == 0 ? null : sum / n;
                    }
                }
            }
        }

        @Override
        public boolean hasAgg() {
            return true;
        }
    }
}
