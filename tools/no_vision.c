/* no_vision.c — the image commands for builds with IMAGE=0 (cross targets, where libpng and
 * libjpeg are not at hand). The Makefile compiles this file instead of the vision commands
 * and the tools' image library; each command says why it is missing. */
#include "cli.h"

static int no_images(const char *cmd, int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_error("'%s' reads and writes images; this onyx was built with IMAGE=0, without libpng and libjpeg",
                     cmd);
}

int cmd_classify(int argc, char **argv) { return no_images("classify", argc, argv); }
int cmd_detect(int argc, char **argv) { return no_images("detect", argc, argv); }
int cmd_img2img(int argc, char **argv) { return no_images("img2img", argc, argv); }
