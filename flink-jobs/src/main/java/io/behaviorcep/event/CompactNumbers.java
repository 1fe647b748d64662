package io.behaviorcep.event;

import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Variable-length numbers for the job's compact state formats: zig-zag, then 7 bits a byte, so small
 * numbers of either sign take one or two bytes and a timestamp about six.
 */
public final class CompactNumbers {
    private CompactNumbers() {}

    public static void writeSigned(DataOutputView out, long v) throws IOException {
        long z = (v << 1) ^ (v >> 63);
        while ((z & ~0x7FL) != 0) {
            out.writeByte((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.writeByte((int) z);
    }

    public static long readSigned(DataInputView in) throws IOException {
        long z = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            int b = in.readUnsignedByte();
            z |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return (z >>> 1) ^ -(z & 1);
        }
        throw new IOException("corrupt state: a number longer than 10 bytes");
    }

    /** A size or count: never negative. */
    public static void writeSize(DataOutputView out, int n) throws IOException {
        writeSigned(out, n);
    }

    public static int readSize(DataInputView in) throws IOException {
        long n = readSigned(in);
        if (n < 0 || n > Integer.MAX_VALUE) throw new IOException("corrupt state: a size of " + n);
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
