package cepheus.peer.window;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Flink serializer for {@link WEvent}. With the heap state backend the window operator keeps the
 * objects themselves, so this only runs when Flink copies or snapshots state; it is complete
 * nevertheless.
 */
public final class WEventSerializer extends TypeSerializer<WEvent> {
    private static final long serialVersionUID = 1L;

    public static final WEventSerializer INSTANCE = new WEventSerializer();

    private static final byte T_NULL = 0, T_STR = 1, T_DOUBLE = 2, T_BOOL = 3, T_LONG = 4;

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public TypeSerializer<WEvent> duplicate() {
        return this;
    }

    @Override
    public WEvent createInstance() {
        return new WEvent(0, null, 0, 0, new Object[0]);
    }

    @Override
    public WEvent copy(WEvent from) {
        return from;
    }

    @Override
    public WEvent copy(WEvent from, WEvent reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(WEvent r, DataOutputView out) throws IOException {
        out.writeLong(r.id);
        out.writeUTF(r.key);
        out.writeLong(r.ts);
        out.writeInt(r.seq);
        out.writeInt(r.vals.length);
        for (Object v : r.vals) {
            if (v == null) {
                out.writeByte(T_NULL);
            } else if (v instanceof String) {
                out.writeByte(T_STR);
                out.writeUTF((String) v);
            } else if (v instanceof Double) {
                out.writeByte(T_DOUBLE);
                out.writeDouble((Double) v);
            } else if (v instanceof Long) {
                out.writeByte(T_LONG);
                out.writeLong((Long) v);
            } else if (v instanceof Boolean) {
                out.writeByte(T_BOOL);
                out.writeBoolean((Boolean) v);
            } else {
                throw new IOException("unsupported field value " + v.getClass());
            }
        }
    }

    @Override
    public WEvent deserialize(DataInputView in) throws IOException {
        long id = in.readLong();
        String key = in.readUTF();
        long ts = in.readLong();
        int seq = in.readInt();
        Object[] vals = new Object[in.readInt()];
        for (int i = 0; i < vals.length; i++) {
            byte t = in.readByte();
            switch (t) {
                case T_NULL:
                    break;
                case T_STR:
                    vals[i] = in.readUTF();
                    break;
                case T_DOUBLE:
                    vals[i] = in.readDouble();
                    break;
                case T_LONG:
                    vals[i] = in.readLong();
                    break;
                case T_BOOL:
                    vals[i] = in.readBoolean();
                    break;
                default:
                    throw new IOException("bad type tag " + t);
            }
        }
        return new WEvent(id, key, ts, seq, vals);
    }

    @Override
    public WEvent deserialize(WEvent reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof WEventSerializer;
    }

    @Override
    public int hashCode() {
        return WEventSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<WEvent> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Snapshot for the stateless serializer. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<WEvent> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
