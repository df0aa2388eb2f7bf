package cepheus.peer;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.Map;

/**
 * Flink serializer for {@link Ev}. With the heap state backend CepOperator keeps objects, so this
 * is only exercised when Flink copies or snapshots state; it is still a complete serializer.
 */
public final class EvSerializer extends TypeSerializer<Ev> {
    private static final long serialVersionUID = 1L;

    public static final EvSerializer INSTANCE = new EvSerializer();

    private static final byte T_NULL = 0, T_STR = 1, T_NUM = 2, T_BOOL = 3;

    @Override
    public boolean isImmutableType() {
        return true; // an Ev is never mutated after construction
    }

    @Override
    public TypeSerializer<Ev> duplicate() {
        return this;
    }

    @Override
    public Ev createInstance() {
        return new Ev(0, null, 0, Ev.newFieldMap());
    }

    @Override
    public Ev copy(Ev from) {
        return from;
    }

    @Override
    public Ev copy(Ev from, Ev reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Ev r, DataOutputView out) throws IOException {
        out.writeLong(r.id);
        out.writeBoolean(r.key != null);
        if (r.key != null) {
            out.writeUTF(r.key);
        }
        out.writeLong(r.ts);
        out.writeInt(r.fields.size());
        for (Map.Entry<String, Object> e : r.fields.entrySet()) {
            out.writeUTF(e.getKey());
            Object v = e.getValue();
            if (v == null) {
                out.writeByte(T_NULL);
            } else if (v instanceof String) {
                out.writeByte(T_STR);
                out.writeUTF((String) v);
            } else if (v instanceof Double) {
                out.writeByte(T_NUM);
                out.writeDouble((Double) v);
            } else if (v instanceof Boolean) {
                out.writeByte(T_BOOL);
                out.writeBoolean((Boolean) v);
            } else {
                throw new IOException("unsupported field value " + v.getClass());
            }
        }
    }

    @Override
    public Ev deserialize(DataInputView in) throws IOException {
        long id = in.readLong();
        String key = in.readBoolean() ? in.readUTF() : null;
        long ts = in.readLong();
        int n = in.readInt();
        Map<String, Object> fields = Ev.newFieldMap();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            byte t = in.readByte();
            switch (t) {
                case T_NULL:
                    fields.put(name, null);
                    break;
                case T_STR:
                    fields.put(name, in.readUTF());
                    break;
                case T_NUM:
                    fields.put(name, in.readDouble());
                    break;
                case T_BOOL:
                    fields.put(name, in.readBoolean());
                    break;
                default:
                    throw new IOException("bad type tag " + t);
            }
        }
        return new Ev(id, key, ts, fields);
    }

    @Override
    public Ev deserialize(Ev reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof EvSerializer;
    }

    @Override
    public int hashCode() {
        return EvSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<Ev> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Snapshot for the stateless serializer. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Ev> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
