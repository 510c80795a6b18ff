# Embed lua/lib/*.lua into the binary as C byte arrays, plus one table
# lua_embedded[] = { {"moonvisor.NAME", bytes, len}, ... } that lua/state.c
# installs into package.preload.

function(mv_embed_lua out_var)
  set(outputs)
  set(names)
  foreach(src IN LISTS ARGN)
    get_filename_component(name ${src} NAME_WE)
    set(out ${CMAKE_BINARY_DIR}/embed/lua_${name}.c)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -DSRC=${src} -DOUT=${out} -DNAME=${name}
              -P ${CMAKE_SOURCE_DIR}/cmake/embed_one.cmake
      DEPENDS ${src} ${CMAKE_SOURCE_DIR}/cmake/embed_one.cmake
      COMMENT "Embedding lua/lib/${name}.lua")
    list(APPEND outputs ${out})
    list(APPEND names ${name})
  endforeach()
  set(index ${CMAKE_BINARY_DIR}/embed/lua_index.c)
  set(decls "")
  set(rows "")
  foreach(name IN LISTS names)
    string(APPEND decls "extern const unsigned char lua_src_${name}[];\nextern const unsigned long lua_len_${name};\n")
    string(APPEND rows "  { \"${name}\", lua_src_${name}, &lua_len_${name} },\n")
  endforeach()
  file(WRITE ${index}.tmp "#include \"lua/embedded.h\"\n${decls}\nconst struct mv_lua_embedded mv_lua_embedded[] = {\n${rows}  { 0, 0, 0 }\n};\n")
  configure_file(${index}.tmp ${index} COPYONLY)
  list(APPEND outputs ${index})
  set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()
