package io.behaviorcep.event;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/**
 * Makes Flink use {@link BehaviorEventSerializer} for {@link BehaviorEvent} everywhere (network,
 * state, {@code TypeInformation.of}), through the {@code @TypeInfo} annotation on the class.
 */
public final class BehaviorEventTypeInfo extends OwnSerializerTypeInfo<BehaviorEvent> {
    private static final long serialVersionUID = 1L;

    public static final BehaviorEventTypeInfo INSTANCE = new BehaviorEventTypeInfo();

    private BehaviorEventTypeInfo() {
        super(BehaviorEvent.class);
    }

    /** Referenced by {@code @TypeInfo} on {@link BehaviorEvent}. */
    public static final class Factory extends TypeInfoFactory<BehaviorEvent> {
        @Override
        public TypeInformation<BehaviorEvent> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return INSTANCE;
        }
    }

    @Override
    public TypeSerializer<BehaviorEvent> createSerializer(SerializerConfig config) {
        return new BehaviorEventSerializer(TypeInformation.of(ProfileSnapshot.class).createSerializer(config));
    }
}
