package cepheus.peer;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One input event of a case: a flat JSON object. {@code id}, {@code ts} and {@code key} are kept
 * both as typed fields (for output and partitioning) and in {@link #fields} (so that expressions
 * can read them like any other field). Events are never mutated once built.
 */
public final class Ev implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Partition key used when the event has no "key" field (a single partition). */
    public static final String NO_KEY = "\u0000<no key>";

    public final long id;
    /** null when the event has no key. */
    public final String key;

    public final long ts;
    /** Field name -> String | Double | Boolean | null. Includes id, ts and key. */
    public final Map<String, Object> fields;

    public Ev(long id, String key, long ts, Map<String, Object> fields) {
        this.id = id;
        this.key = key;
        this.ts = ts;
        this.fields = fields;
    }

    public Object get(String field) {
        return fields.get(field);
    }

    public String partitionKey() {
        return key == null ? NO_KEY : key;
    }

    public static Map<String, Object> newFieldMap() {
        return new LinkedHashMap<>();
    }

    @Override
    public String toString() {
        return "Ev{id=" + id + ", key=" + key + ", ts=" + ts + ", " + fields + "}";
    }
}
