/* draw.h — boxes and text on 8-bit RGB images, for `onyx detect --draw`.
 * Text uses a built-in 5x7 bitmap font: digits, A-Z (lower case drawn as upper case),
 * space and . - _ : % / ( ); any other character is drawn as '?'. */
#ifndef ONYX_DRAW_H
#define ONYX_DRAW_H

#include <stdint.h>

#include "img.h"

#define DRAW_GLYPH_W 5
#define DRAW_GLYPH_H 7

/* A rectangle outline `thickness` pixels wide inside [x1, x2] x [y1, y2] (clipped).
 * im: IMG_U8 with 3 channels. */
void draw_rect(img_image *im, int x1, int y1, int x2, int y2, int thickness, const uint8_t rgb[3]);
/* Filled rectangle [x1, x2] x [y1, y2] (clipped). */
void draw_fill(img_image *im, int x1, int y1, int x2, int y2, const uint8_t rgb[3]);
/* Text with its top-left corner at (x, y), each font pixel a scale x scale square, one
 * blank column between glyphs. Clipped to the image. */
void draw_text(img_image *im, int x, int y, const char *text, int scale, const uint8_t rgb[3]);
/* Width in pixels that draw_text uses for text. */
int draw_text_width(const char *text, int scale);

#endif
