# lib/: code shared by several programs (digests, trace format, errors).
# Everything links $(LIBMB) and adds $(LIBMB_LIBS).
LIBMB_SRCS := $(wildcard lib/*.c)
LIBMB_OBJS := $(LIBMB_SRCS:%.c=$(BUILD)/%.o)
LIBMB := $(BUILD)/lib/libmbcore.a
LIBMB_LIBS := -lxxhash -lm

$(LIBMB): $(LIBMB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

PROGRAMS += $(LIBMB)
