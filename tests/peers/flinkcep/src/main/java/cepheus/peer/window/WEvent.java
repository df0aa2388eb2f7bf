package cepheus.peer.window;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One input event of a window case. Only what the window operator and the aggregates need is
 * kept: the partition key, the event time, the arrival position ({@code seq}, 0-based, used for
 * {@code first}/{@code last}) and the values of the fields the case aggregates, in the order of
 * the case's field list. Values are {@code Long} (JSON integers), {@code Double} (other JSON
 * numbers), {@code String}, {@code Boolean} or {@code null}. Never mutated once built.
 */
public final class WEvent implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Partition key used when the event has no "key" (one shared partition). */
    public static final String NO_KEY = "\u0000<no key>";

    public final long id;
    /** Never null: {@link #NO_KEY} when the event has no key. */
    public final String key;
    public final long ts;
    public final int seq;
    public final Object[] vals;

    public WEvent(long id, String key, long ts, int seq, Object[] vals) {
        this.id = id;
        this.key = key == null ? NO_KEY : key;
        this.ts = ts;
        this.seq = seq;
        this.vals = vals;
    }

    @Override
    public String toString() {
        return "WEvent{id=" + id + ", key=" + key + ", ts=" + ts + ", seq=" + seq + ", vals=" + Arrays.toString(vals) + "}";
    }
}
