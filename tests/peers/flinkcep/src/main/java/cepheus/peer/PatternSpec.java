package cepheus.peer;

import com.fasterxml.jackson.databind.JsonNode;

import org.apache.flink.cep.nfa.aftermatch.AfterMatchSkipStrategy;
import org.apache.flink.cep.nfa.aftermatch.SkipToFirstStrategy;
import org.apache.flink.cep.nfa.aftermatch.SkipToLastStrategy;
import org.apache.flink.cep.pattern.Pattern;

import java.time.Duration;

/**
 * Turns the JSON PatternSpec of the input contract into a FlinkCEP {@link Pattern}, calling the
 * Pattern API one-to-one. Per stage the calls are made in this fixed order: contiguity (begin /
 * next / followedBy / followedByAny / notNext / notFollowedBy, or their group-pattern forms),
 * where(condition), quantifier (times / timesOrMore / oneOrMore), until, consecutive,
 * allowCombinations, optional, greedy. {@code within} is applied to the last stage.
 */
public final class PatternSpec {
    private PatternSpec() {}

    public static Pattern<Ev, Ev> build(JsonNode spec) {
        if (spec == null || !spec.isObject()) {
            throw new IllegalArgumentException("pattern must be an object");
        }
        AfterMatchSkipStrategy skip = skipStrategy(spec.get("skip"));
        Pattern<Ev, Ev> p = buildSequence(spec.get("stages"), skip);
        JsonNode within = spec.get("within_ms");
        if (within != null && !within.isNull()) {
            p = p.within(Duration.ofMillis(within.asLong()));
        }
        return p;
    }

    static AfterMatchSkipStrategy skipStrategy(JsonNode s) {
        if (s == null || s.isNull()) {
            return AfterMatchSkipStrategy.noSkip();
        }
        String strategy = text(s, "strategy", "noSkip");
        boolean throwOnMiss = s.has("throw_exception_on_miss") && s.get("throw_exception_on_miss").asBoolean();
        switch (strategy) {
            case "noSkip":
                return AfterMatchSkipStrategy.noSkip();
            case "skipToNext":
                return AfterMatchSkipStrategy.skipToNext();
            case "skipPastLastEvent":
                return AfterMatchSkipStrategy.skipPastLastEvent();
            case "skipToFirst": {
                SkipToFirstStrategy st = AfterMatchSkipStrategy.skipToFirst(requireText(s, "var"));
                return throwOnMiss ? st.throwExceptionOnMiss() : st;
            }
            case "skipToLast": {
                SkipToLastStrategy st = AfterMatchSkipStrategy.skipToLast(requireText(s, "var"));
                return throwOnMiss ? st.throwExceptionOnMiss() : st;
            }
            default:
                throw new IllegalArgumentException("unknown skip strategy " + strategy);
        }
    }

    static Pattern<Ev, Ev> buildSequence(JsonNode stages, AfterMatchSkipStrategy skip) {
        if (stages == null || !stages.isArray() || stages.size() == 0) {
            throw new IllegalArgumentException("stages must be a non-empty array");
        }
        Pattern<Ev, Ev> p = null;
        for (int i = 0; i < stages.size(); i++) {
            p = stage(p, stages.get(i), skip, i == 0);
        }
        return p;
    }

    private static Pattern<Ev, Ev> stage(
            Pattern<Ev, Ev> prev, JsonNode st, AfterMatchSkipStrategy skip, boolean first) {
        String contiguity = text(st, "contiguity", first ? "begin" : "next");
        if (first && !contiguity.equals("begin")) {
            throw new IllegalArgumentException("the first stage must have contiguity \"begin\", got " + contiguity);
        }
        if (!first && contiguity.equals("begin")) {
            throw new IllegalArgumentException("only the first stage may have contiguity \"begin\"");
        }
        JsonNode group = st.get("group");
        Pattern<Ev, Ev> p;
        if (group != null && !group.isNull()) {
            Pattern<Ev, Ev> inner = buildSequence(group, AfterMatchSkipStrategy.noSkip());
            switch (contiguity) {
                case "begin":
                    p = Pattern.begin(inner, skip);
                    break;
                case "next":
                    p = prev.next(inner);
                    break;
                case "followedBy":
                    p = prev.followedBy(inner);
                    break;
                case "followedByAny":
                    p = prev.followedByAny(inner);
                    break;
                case "notNext":
                case "notFollowedBy":
                    throw new IllegalArgumentException(
                            "FlinkCEP has no " + contiguity + " for group patterns");
                default:
                    throw new IllegalArgumentException("unknown contiguity " + contiguity);
            }
        } else {
            String name = requireText(st, "name");
            switch (contiguity) {
                case "begin":
                    p = Pattern.begin(name, skip);
                    break;
                case "next":
                    p = prev.next(name);
                    break;
                case "followedBy":
                    p = prev.followedBy(name);
                    break;
                case "followedByAny":
                    p = prev.followedByAny(name);
                    break;
                case "notNext":
                    p = prev.notNext(name);
                    break;
                case "notFollowedBy":
                    p = prev.notFollowedBy(name);
                    break;
                default:
                    throw new IllegalArgumentException("unknown contiguity " + contiguity);
            }
        }

        Expr cond = Expr.parse(st.get("condition"));
        if (cond != null) {
            p = p.where(Conditions.of(cond)); // GroupPattern.where throws, as in FlinkCEP
        } else if (group == null || group.isNull()) {
            // null = FlinkCEP's default accept-all condition; installed explicitly so that the
            // per-case budget is ticked (same semantics as not calling where at all)
            p = p.where(Conditions.acceptAll());
        }

        JsonNode q = st.get("quantifier");
        if (q != null && !q.isNull()) {
            String kind = requireText(q, "kind");
            switch (kind) {
                case "times": {
                    int from = q.get("from").asInt();
                    JsonNode toNode = q.get("to");
                    int to = toNode == null || toNode.isNull() ? from : toNode.asInt();
                    p = from == to ? p.times(from) : p.times(from, to);
                    break;
                }
                case "timesOrMore":
                    p = p.timesOrMore(q.get("from").asInt());
                    break;
                case "oneOrMore":
                    p = p.oneOrMore();
                    break;
                default:
                    throw new IllegalArgumentException("unknown quantifier kind " + kind);
            }
        }

        Expr until = Expr.parse(st.get("until"));
        if (until != null) {
            p = p.until(Conditions.of(until));
        }
        if (flag(st, "consecutive")) {
            p = p.consecutive();
        }
        if (flag(st, "allowCombinations")) {
            p = p.allowCombinations();
        }
        if (flag(st, "optional")) {
            p = p.optional();
        }
        if (flag(st, "greedy")) {
            p = p.greedy();
        }
        return p;
    }

    private static boolean flag(JsonNode n, String f) {
        JsonNode v = n.get(f);
        return v != null && v.asBoolean(false);
    }

    private static String text(JsonNode n, String f, String dflt) {
        JsonNode v = n.get(f);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    private static String requireText(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("missing \"" + f + "\" in " + n);
        }
        return v.asText();
    }
}
