package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.event.ProfileSnapshot;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/** Makes Flink use {@link ActionInputSerializer} for {@link ActionInput} everywhere, through {@code @TypeInfo}. */
public final class ActionInputTypeInfo extends TypeInformation<ActionInput> {
    private static final long serialVersionUID = 1L;

    public static final ActionInputTypeInfo INSTANCE = new ActionInputTypeInfo();

    public static final class Factory extends TypeInfoFactory<ActionInput> {
        @Override
        public TypeInformation<ActionInput> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return INSTANCE;
        }
    }

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
    public Class<ActionInput> getTypeClass() {
        return ActionInput.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<ActionInput> createSerializer(SerializerConfig config) {
        return new ActionInputSerializer(TypeInformation.of(PatternMatch.class).createSerializer(config),
                TypeInformation.of(ProfileSnapshot.class).createSerializer(config),
                TypeInformation.of(PatternChange.class).createSerializer(config));
    }

    @Override
    public String toString() {
        return "ActionInput";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ActionInputTypeInfo;
    }

    @Override
    public int hashCode() {
        return ActionInputTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof ActionInputTypeInfo;
    }
}
