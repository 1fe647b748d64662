package io.behaviorcep.engine;

import io.behaviorcep.event.OwnSerializerTypeInfo;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternMatch;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/** Makes Flink use {@link ActionInputSerializer} for {@link ActionInput} everywhere, through {@code @TypeInfo}. */
public final class ActionInputTypeInfo extends OwnSerializerTypeInfo<ActionInput> {
    private static final long serialVersionUID = 1L;

    public static final ActionInputTypeInfo INSTANCE = new ActionInputTypeInfo();

    private ActionInputTypeInfo() {
        super(ActionInput.class);
    }

    public static final class Factory extends TypeInfoFactory<ActionInput> {
        @Override
        public TypeInformation<ActionInput> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return INSTANCE;
        }
    }

    @Override
    public TypeSerializer<ActionInput> createSerializer(SerializerConfig config) {
        return new ActionInputSerializer(TypeInformation.of(PatternMatch.class).createSerializer(config),
                TypeInformation.of(ProfileSnapshot.class).createSerializer(config),
                TypeInformation.of(PatternChange.class).createSerializer(config));
    }
}
