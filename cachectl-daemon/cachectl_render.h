/*
 * cachectl render: expands one template with libjpulse, as nginx will.
 */

#ifndef CACHECTL_RENDER_H
#define CACHECTL_RENDER_H

/* argv[0] is "render"; returns the exit status (0, 1 failure, 2 usage) */
int cachectl_render(int argc, char **argv);

#endif /* CACHECTL_RENDER_H */
