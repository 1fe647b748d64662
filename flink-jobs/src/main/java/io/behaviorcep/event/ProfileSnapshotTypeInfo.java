package io.behaviorcep.event;

import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

import java.lang.reflect.Type;
import java.util.Map;

/** Makes Flink use {@link ProfileSnapshotSerializer} for {@link ProfileSnapshot} everywhere, through {@code @TypeInfo}. */
public final class ProfileSnapshotTypeInfo extends OwnSerializerTypeInfo<ProfileSnapshot> {
    private static final long serialVersionUID = 1L;

    public static final ProfileSnapshotTypeInfo INSTANCE = new ProfileSnapshotTypeInfo();

    private ProfileSnapshotTypeInfo() {
        super(ProfileSnapshot.class);
    }

    /** Referenced by {@code @TypeInfo} on {@link ProfileSnapshot}. */
    public static final class Factory extends TypeInfoFactory<ProfileSnapshot> {
        @Override
        public TypeInformation<ProfileSnapshot> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return INSTANCE;
        }
    }

    @Override
    public TypeSerializer<ProfileSnapshot> createSerializer(SerializerConfig config) {
        return ProfileSnapshotSerializer.INSTANCE;
    }
}
