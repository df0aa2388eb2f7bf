package cepheus.peer.window;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * Type information for {@link WEvent}: what {@code DataStream.getType()} would be for the input of
 * the window operator. {@code WindowOperatorBuilder} uses it to make the window-contents state's
 * serializer.
 */
public final class WEventTypeInfo extends TypeInformation<WEvent> {
    private static final long serialVersionUID = 1L;

    public static final WEventTypeInfo INSTANCE = new WEventTypeInfo();

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<WEvent> getTypeClass() {
        return WEvent.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<WEvent> createSerializer(SerializerConfig config) {
        return WEventSerializer.INSTANCE;
    }

    @Override
    @SuppressWarnings("deprecation")
    public TypeSerializer<WEvent> createSerializer(ExecutionConfig config) {
        return WEventSerializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "WEvent";
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof WEventTypeInfo;
    }

    @Override
    public int hashCode() {
        return WEventTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object obj) {
        return obj instanceof WEventTypeInfo;
    }
}
