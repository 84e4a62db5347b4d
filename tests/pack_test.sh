#!/bin/sh
# `onyx pack` round trips (docs/PACKED_FORMAT.md): a packed model runs bit for bit like its
# .onnx (digits, and node-suite models covering subgraphs, sequences, strings and every
# attribute kind), `onyx info` and `onyx check` take .onyx files, and --c-array /
# --ops-header write what they promise. Prints "pack: N passed, N failed".
# usage: pack_test.sh CLI NODE_TEST_DIR
set -u
cli=$1 nodes=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# digits: packed at the default --opt, run like the .onnx, outputs identical byte for byte
"$cli" pack tools/demo/digits.onnx -o "$tmp/digits.onyx" --c-array "$tmp/digits_data.c" --symbol digits_model \
    --ops-header "$tmp/digits_ops.h" > "$tmp/pack.txt" 2>&1 && ok "pack: digits packed" || bad "pack: $(cat "$tmp/pack.txt")"
"$cli" run tools/demo/digits.onnx --input tools/demo/digit_input.npy --output-dir "$tmp/a" > /dev/null 2>&1
"$cli" run "$tmp/digits.onyx" --input tools/demo/digit_input.npy --output-dir "$tmp/b" > /dev/null 2>&1
cmp -s "$tmp/a/probabilities.npy" "$tmp/b/probabilities.npy" && ok "pack: digits .onyx output equals the .onnx bit for bit" ||
    bad "pack: digits outputs differ"
"$cli" info "$tmp/digits.onyx" > "$tmp/info.txt" 2>&1 && grep -q 'Conv: 1' "$tmp/info.txt" &&
    grep -q 'image: float32 \[N,1,8,8\]' "$tmp/info.txt" && ok "pack: info reads .onyx (symbolic dims kept)" ||
    bad "pack: info: $(cat "$tmp/info.txt")"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -c "$tmp/digits_data.c" -o "$tmp/digits_data.o" 2> "$tmp/cc.txt" &&
    [ "$(nm "$tmp/digits_data.o" | grep -c ' R digits_model\(_size\|_arena_bytes\)\?$')" -eq 3 ] &&
    ok "pack: --c-array compiles to digits_model, _size and _arena_bytes" || bad "pack: --c-array: $(cat "$tmp/cc.txt")"
size=$(wc -c < "$tmp/digits.onyx")
grep -q "digits_model_size = $size;" "$tmp/digits_data.c" && ok "pack: the C array holds the $size packed bytes" ||
    bad "pack: C array size"
for op in Conv Relu MaxPool Flatten Gemm Softmax; do grep -q "^#define ONYX_OP_$op 1" "$tmp/digits_ops.h" || bad "pack: ops header lacks $op"; done
grep -q 'OX_FAMILY(nn)' "$tmp/digits_ops.h" && grep -q 'OX_FAMILY(linalg)' "$tmp/digits_ops.h" &&
    ! grep -q 'OX_FAMILY(rnn)' "$tmp/digits_ops.h" && ok "pack: ops header lists the model's ops and families only" ||
    bad "pack: ops header: $(cat "$tmp/digits_ops.h")"
"$cli" pack "$tmp/digits.onyx" -o "$tmp/again.onyx" > /dev/null 2>&1 && cmp -s "$tmp/digits.onyx" "$tmp/again.onyx" &&
    ok "pack: packing a packed model gives the same bytes" || bad "pack: re-packing differs"
printf 'not a model' > "$tmp/bad.onyx"
"$cli" run "$tmp/bad.onyx" > "$tmp/bad.txt" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q 'onyx:' "$tmp/bad.txt" && ok "pack: garbage is refused with a message" || bad "pack: garbage: $(cat "$tmp/bad.txt")"

# node-suite models, packed at --opt 0, run on their test data: outputs identical to the .onnx
# run; `onyx check` on folders holding model.onyx instead of model.onnx
for t in test_conv_with_strides_padding test_if test_if_seq test_loop11 test_loop13_seq test_scan9_sum test_scan_sum \
         test_sequence_map_add_2_sequences test_optional_get_element_optional_sequence test_strnormalizer_export_monday_casesensintive_lower \
         test_cast_FLOAT_to_STRING test_constant test_lstm_defaults test_gru_defaults test_range_float_type_positive_delta_expanded \
         test_layer_normalization_2d_axis0 test_resize_upsample_sizes_cubic test_reduce_sum_default_axes_keepdims_example \
         test_top_k test_einsum_batch_matmul test_label_encoder_tensor_mapping test_tfidfvectorizer_tf_batch_onlybigrams_skip0 \
         test_dft test_gathernd_example_int32 test_qlinearconv test_nonmaxsuppression_center_point_box_format \
         test_affine_grid_2d test_attention_3d test_center_crop_pad_crop_and_pad test_bitshift_left_uint8; do
    d=$nodes/$t
    [ -f "$d/model.onnx" ] || continue
    mkdir -p "$tmp/n/$t" "$tmp/o"
    if ! "$cli" pack --opt 0 "$d/model.onnx" -o "$tmp/n/$t/model.onyx" > "$tmp/o/$t.log" 2>&1; then
        bad "pack: $t: $(head -c 300 "$tmp/o/$t.log")"
        continue
    fi
    ln -s "$(cd "$d/test_data_set_0" && pwd)" "$tmp/n/$t/"
    ins=
    for f in "$d"/test_data_set_0/input_*.pb; do [ -f "$f" ] && ins="$ins --input $f"; done
    # shellcheck disable=SC2086
    "$cli" run "$d/model.onnx" $ins --opt 0 --output-dir "$tmp/o/$t.a" > /dev/null 2>&1; ra=$?
    # shellcheck disable=SC2086
    "$cli" run "$tmp/n/$t/model.onyx" $ins --opt 0 --output-dir "$tmp/o/$t.b" > /dev/null 2>&1; rb=$?
    same=yes
    for f in "$tmp/o/$t.a"/*; do [ -f "$f" ] && { cmp -s "$f" "$tmp/o/$t.b/${f##*/}" || same=no; }; done
    [ $ra -eq $rb ] && [ $same = yes ] && ok "pack: $t runs bit for bit like the .onnx" || bad "pack: $t outputs differ (exit $ra/$rb)"
done
"$cli" check "$tmp"/n/test_* > "$tmp/check.txt" 2>&1
npass=$(grep -c '^PASS ' "$tmp/check.txt"); nall=$(ls -d "$tmp"/n/test_*/ | wc -l)
[ "$npass" -ge $((nall - 2)) ] && ok "pack: onyx check passes $npass of $nall packed node tests" ||
    bad "pack: onyx check on packed models: $(grep -v '^PASS' "$tmp/check.txt" | head -n 5)"
echo "pack: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
