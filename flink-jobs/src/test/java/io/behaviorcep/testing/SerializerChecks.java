package io.behaviorcep.testing;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What the tests of the job's own state serializers share. */
public final class SerializerChecks {
    private SerializerChecks() {}

    /** Field by field, recursively: the state classes do not define equals. */
    public static boolean sameFields(Object a, Object b) {
        try {
            assertThat(b).usingRecursiveComparison().isEqualTo(a);
            return true;
        } catch (AssertionError e) {
            return false;
        }
    }

    /** Flink's POJO serializer for a class that now has a serializer of its own: what older savepoints hold. */
    @SuppressWarnings("unchecked")
    public static <T> TypeSerializer<T> pojoSerializer(Class<T> type) {
        Map<String, TypeInformation<?>> fields = new LinkedHashMap<>();
        for (Field f : type.getFields()) {
            if (!Modifier.isStatic(f.getModifiers())) fields.put(f.getName(), TypeInformation.of(f.getType()));
        }
        return ((TypeInformation<T>) Types.POJO(type, fields)).createSerializer(new SerializerConfigImpl());
    }

    /** A snapshot as a savepoint carries it: written and read back. */
    public static <T> TypeSerializerSnapshot<T> throughASavepoint(TypeSerializerSnapshot<T> snapshot) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        return TypeSerializerSnapshot.readVersionedSnapshot(new DataInputDeserializer(out.getCopyOfBuffer()),
                SerializerChecks.class.getClassLoader());
    }
}
