build/obj/proxy/auth.o: proxy/auth.c proxy/auth.h common/str.h \
 /usr/include/android/openssl/base64.h \
 /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h \
 /usr/include/android/openssl/mem.h /usr/include/android/openssl/sha.h \
 common/xalloc.h
proxy/auth.h:
common/str.h:
/usr/include/android/openssl/base64.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
/usr/include/android/openssl/mem.h:
/usr/include/android/openssl/sha.h:
common/xalloc.h:
