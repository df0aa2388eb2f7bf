package cepheus.peer;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.functions.TimedOutPartialMatchHandler;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.operator.CepOperator;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.runtime.io.disk.iomanager.IOManagerAsync;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.runtime.operators.testutils.MockInputSplitProvider;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * Builds the real FlinkCEP operator exactly as {@code CEP.pattern(keyedStream, pattern).process(fn)}
 * does (PatternStreamBuilder: NFACompiler.compileFactory with timeout handling iff the function is
 * a TimedOutPartialMatchHandler; event time; no comparator; the pattern's skip strategy), and
 * runs it in Flink's keyed one-input operator test harness with a heap (HashMap) state backend.
 */
public final class Cep {
    private Cep() {}

    /** Max parallelism (number of key groups), Flink's default of 128; one subtask owns them all. */
    static final int MAX_PARALLELISM = Integer.getInteger("peer.maxParallelism", 128);

    /**
     * One IOManager for all harnesses of the process. CepOperator never spills, and starting and
     * stopping an IOManagerAsync (threads, temp directories) per case was most of a small
     * case's cost.
     */
    private static final IOManagerAsync SHARED_IO =
            new IOManagerAsync() {
                @Override
                public void close() {
                    // shared for the life of the JVM
                }
            };

    /** Partition by the event's "key" field; events without one share a single partition. */
    static final class ByKey implements KeySelector<Ev, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(Ev value) {
            return value.partitionKey();
        }
    }

    /** An open CepOperator in its harness. */
    public static final class Op<OUT> implements AutoCloseable {
        public final KeyedOneInputStreamOperatorTestHarness<String, Ev, OUT> harness;
        private final MockEnvironment env;

        Op(KeyedOneInputStreamOperatorTestHarness<String, Ev, OUT> harness, MockEnvironment env) {
            this.harness = harness;
            this.env = env;
        }

        public void element(Ev e) throws Exception {
            harness.processElement(new StreamRecord<>(e, e.ts));
        }

        public void watermark(long ts) throws Exception {
            harness.processWatermark(new Watermark(ts));
        }

        @Override
        public void close() throws Exception {
            try {
                harness.close();
            } finally {
                env.close();
            }
        }
    }

    public static <OUT> Op<OUT> open(Pattern<Ev, Ev> pattern, PatternProcessFunction<Ev, OUT> fn)
            throws Exception {
        boolean timeoutHandling = fn instanceof TimedOutPartialMatchHandler;
        NFACompiler.NFAFactory<Ev> factory = NFACompiler.compileFactory(pattern, timeoutHandling);
        CepOperator<Ev, String, OUT> op =
                new CepOperator<>(
                        EvSerializer.INSTANCE,
                        false, // event time
                        factory,
                        null, // no secondary comparator: equal timestamps keep arrival order
                        pattern.getAfterMatchSkipStrategy(),
                        fn,
                        null); // late events are dropped (the peer itself reports them)
        MockEnvironment env =
                new MockEnvironmentBuilder()
                        .setTaskName("cepheus-flinkcep-peer")
                        .setManagedMemorySize(3 * 1024 * 1024)
                        .setInputSplitProvider(new MockInputSplitProvider())
                        .setBufferSize(1024)
                        .setMaxParallelism(MAX_PARALLELISM)
                        .setParallelism(1)
                        .setSubtaskIndex(0)
                        .setIOManager(SHARED_IO)
                        .build();
        KeyedOneInputStreamOperatorTestHarness<String, Ev, OUT> h;
        try {
            h = new KeyedOneInputStreamOperatorTestHarness<>(op, new ByKey(), Types.STRING, env);
            h.setStateBackend(new HashMapStateBackend());
            h.open();
        } catch (Throwable t) {
            env.close();
            throw t;
        }
        return new Op<>(h, env);
    }
}
