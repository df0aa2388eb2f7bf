package cepheus.peer;

import org.apache.flink.cep.pattern.conditions.IterativeCondition;
import org.apache.flink.cep.pattern.conditions.SimpleCondition;

/** Wraps an {@link Expr} as a FlinkCEP condition. */
public final class Conditions {
    private Conditions() {}

    /**
     * Used for a stage whose condition is null: the same as FlinkCEP's default condition
     * (BooleanConditions.trueFunction(), a SimpleCondition that accepts every event), but it
     * ticks the per-case {@link Budget}.
     */
    public static IterativeCondition<Ev> acceptAll() {
        return new Simple(new Expr.Lit(true));
    }

    /** SimpleCondition when the expression reads no earlier variable, IterativeCondition otherwise. */
    public static IterativeCondition<Ev> of(Expr e) {
        return e.hasAgg() ? new Iterative(e) : new Simple(e);
    }

    /** Condition over the current event only. */
    public static final class Simple extends SimpleCondition<Ev> {
        private static final long serialVersionUID = 1L;
        private final Expr expr;

        public Simple(Expr expr) {
            this.expr = expr;
        }

        @Override
        public boolean filter(Ev value) throws Exception {
            Budget.tick();
            return Expr.isTrue(expr.eval(value, null));
        }
    }

    /** Condition that may read earlier variables through ctx.getEventsForPattern. */
    public static final class Iterative extends IterativeCondition<Ev> {
        private static final long serialVersionUID = 1L;
        private final Expr expr;

        public Iterative(Expr expr) {
            this.expr = expr;
        }

        @Override
        public boolean filter(Ev value, Context<Ev> ctx) throws Exception {
            Budget.tick();
            return Expr.isTrue(expr.eval(value, ctx::getEventsForPattern));
        }
    }
}
