package io.behaviorcep.profile;

import io.behaviorcep.event.OwnSerializerTypeInfo;
import io.behaviorcep.trait.TraitCell;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/** Makes Flink use {@link ProfileStateSerializer} for {@link ProfileState} everywhere, through {@code @TypeInfo}. */
public final class ProfileStateTypeInfo extends OwnSerializerTypeInfo<ProfileState> {
    private static final long serialVersionUID = 1L;

    public static final ProfileStateTypeInfo INSTANCE = new ProfileStateTypeInfo();

    private ProfileStateTypeInfo() {
        super(ProfileState.class);
    }

    /** Referenced by {@code @TypeInfo} on {@link ProfileState}. */
    public static final class Factory extends TypeInfoFactory<ProfileState> {
        @Override
        public TypeInformation<ProfileState> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return INSTANCE;
        }
    }

    @Override
    public TypeSerializer<ProfileState> createSerializer(SerializerConfig config) {
        return new ProfileStateSerializer(TypeInformation.of(TraitCell.class).createSerializer(config));
    }
}
