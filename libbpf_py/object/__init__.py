"""Phases 2 to 4: the object file, the open object and the loaded object.

This package owns :class:`~libbpf_py.object.objfile.ObjectFile` (bytes only, needs no
compiled module), :class:`~libbpf_py.object.open_object.OpenObject`,
:class:`~libbpf_py.object.loaded.LoadedObject`, their global variables
(``global_data``) and the shadow struct of an open struct_ops map (``shadow``).
Inside, each phase imports only the phase after it: the file opens an ``OpenObject``,
which loads a ``LoadedObject``; the later phases name the file by the ``ObjectSource``
Protocol. This is the top of the phase layers: it imports
programs, maps and links, and none of them imports it. The old top-level paths
(``libbpf_py.objfile``, ``libbpf_py.open_object``, ``libbpf_py.loaded``,
``libbpf_py.global_data``) still import.
"""
