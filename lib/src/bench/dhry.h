// Dhrystone 2.1 (Reinhold Weicker, 1988), ported to C++ faithfully: the same
// types, globals, procedures and their split over two translation units
// (dhry_1.cc, dhry_2.cc), compiled with -O2 -fno-inline and without LTO so
// the compiler cannot fold the benchmark away. Only names gained a namespace
// and uninitialised locals an initial value (never read before set).
#pragma once

namespace w::bench::dhry {

enum Enumeration { Ident_1, Ident_2, Ident_3, Ident_4, Ident_5 };
typedef int One_Thirty;
typedef int One_Fifty;
typedef char Capital_Letter;
typedef int Boolean;
typedef char Str_30[31];
typedef int Arr_1_Dim[50];
typedef int Arr_2_Dim[50][50];

struct Rec_Type {
  Rec_Type* Ptr_Comp;
  Enumeration Discr;
  union {
    struct {
      Enumeration Enum_Comp;
      int Int_Comp;
      char Str_Comp[31];
    } var_1;
    struct {
      Enumeration E_Comp_2;
      char Str_2_Comp[31];
    } var_2;
    struct {
      char Ch_1_Comp;
      char Ch_2_Comp;
    } var_3;
  } variant;
};
typedef Rec_Type* Rec_Pointer;

// Globals (dhry_1.cc).
extern Rec_Pointer Ptr_Glob, Next_Ptr_Glob;
extern int Int_Glob;
extern Boolean Bool_Glob;
extern char Ch_1_Glob, Ch_2_Glob;
extern int Arr_1_Glob[50];
extern int Arr_2_Glob[50][50];

// dhry_1.cc
void Proc_1(Rec_Pointer Ptr_Val_Par);
void Proc_2(One_Fifty* Int_Par_Ref);
void Proc_3(Rec_Pointer* Ptr_Ref_Par);
void Proc_4();
void Proc_5();
// dhry_2.cc
void Proc_6(Enumeration Enum_Val_Par, Enumeration* Enum_Ref_Par);
void Proc_7(One_Fifty Int_1_Par_Val, One_Fifty Int_2_Par_Val, One_Fifty* Int_Par_Ref);
void Proc_8(Arr_1_Dim Arr_1_Par_Ref, Arr_2_Dim Arr_2_Par_Ref, int Int_1_Par_Val, int Int_2_Par_Val);
Enumeration Func_1(Capital_Letter Ch_1_Par_Val, Capital_Letter Ch_2_Par_Val);
Boolean Func_2(Str_30 Str_1_Par_Ref, Str_30 Str_2_Par_Ref);
Boolean Func_3(Enumeration Enum_Par_Val);

/// Runs the main loop `runs` times from a fresh state. Returns "" if every
/// final value is what Dhrystone says it should be, else which one is not.
const char* run(long runs);

}  // namespace w::bench::dhry
