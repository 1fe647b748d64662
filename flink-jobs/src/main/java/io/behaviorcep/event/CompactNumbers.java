package io.behaviorcep.event;

import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Variable-length numbers for the job's own state formats (events, dedup ids, profiles, engine
 * state): unsigned LEB128, 7 bits a byte with the high bit set on all but the last, so a count takes
 * one or two bytes; signed numbers zig-zag first, so small ones of either sign stay short and a
 * timestamp or a time relative to another takes about six.
 */
public final class CompactNumbers {
    private CompactNumbers() {}

    public static void writeUnsigned(DataOutputView out, long v) throws IOException {
        while ((v & ~0x7FL) != 0) {
            out.writeByte((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.writeByte((int) v);
    }

    public static long readUnsigned(DataInputView in) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            int b = in.readUnsignedByte();
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new IOException("corrupt state: a number longer than 10 bytes");
    }

    public static void writeSigned(DataOutputView out, long v) throws IOException {
        writeUnsigned(out, (v << 1) ^ (v >> 63));
    }

    public static long readSigned(DataInputView in) throws IOException {
        long z = readUnsigned(in);
        return (z >>> 1) ^ -(z & 1);
    }

    /** A size or count: never negative. */
    public static void writeSize(DataOutputView out, int n) throws IOException {
        if (n < 0) throw new IOException("a negative size: " + n);
        writeUnsigned(out, n);
    }

    public static int readSize(DataInputView in) throws IOException {
        long n = readUnsigned(in);
        if (n < 0 || n > Integer.MAX_VALUE) throw new IOException("corrupt state: a size of " + Long.toUnsignedString(n));
        return (int) n;
    }

    /** A nullable string array: its length + 1 (0: null), then each string as a flag and its text. */
    public static void writeStrings(DataOutputView out, String[] a) throws IOException {
        if (a == null) {
            writeSize(out, 0);
            return;
        }
        writeSize(out, a.length + 1);
        for (String s : a) {
            out.writeBoolean(s != null);
            if (s != null) out.writeUTF(s);
        }
    }

    public static String[] readStrings(DataInputView in) throws IOException {
        int n = readSize(in) - 1;
        if (n < 0) return null;
        String[] a = new String[n];
        for (int i = 0; i < n; i++) a[i] = in.readBoolean() ? in.readUTF() : null;
        return a;
    }
}
