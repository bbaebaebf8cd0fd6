/* LUN views (scsi/lun_view.h): only their release lives here; building one is the daemon
 * model's job. */
#include <stdlib.h>

#include "scsi/lu.h"
#include "scsi/lun_view.h"

void lun_view_put(struct lun_view *v)
{
	if (!v)
		return;
	for (unsigned i = 0; i < INVAR_MAX_LUNS; i++)
		if (v->lus[i])
			lu_put(v->lus[i]);
	free(v);
}
