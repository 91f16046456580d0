// Dhrystone 2.1, part 1: the main loop and Proc_1 .. Proc_5. See dhry.h.
#include <cstring>

#include "dhry.h"

namespace w::bench::dhry {

Rec_Pointer Ptr_Glob, Next_Ptr_Glob;
int Int_Glob;
Boolean Bool_Glob;
char Ch_1_Glob, Ch_2_Glob;
int Arr_1_Glob[50];
int Arr_2_Glob[50][50];

namespace {
// The original malloc()s these two records once; static storage is the same
// thing without the leak.
Rec_Type Glob_Rec, Next_Glob_Rec;
}  // namespace

const char* run(long Number_Of_Runs) {
  One_Fifty Int_1_Loc = 0;
  One_Fifty Int_2_Loc = 0;
  One_Fifty Int_3_Loc = 0;
  char Ch_Index;
  Enumeration Enum_Loc = Ident_1;
  Str_30 Str_1_Loc;
  Str_30 Str_2_Loc;
  long Run_Index;

  Int_Glob = 0;
  Bool_Glob = 0;
  Ch_1_Glob = Ch_2_Glob = 0;
  std::memset(Arr_1_Glob, 0, sizeof Arr_1_Glob);
  std::memset(Arr_2_Glob, 0, sizeof Arr_2_Glob);
  Glob_Rec = Rec_Type{};
  Next_Glob_Rec = Rec_Type{};
  Next_Ptr_Glob = &Next_Glob_Rec;
  Ptr_Glob = &Glob_Rec;

  Ptr_Glob->Ptr_Comp = Next_Ptr_Glob;
  Ptr_Glob->Discr = Ident_1;
  Ptr_Glob->variant.var_1.Enum_Comp = Ident_3;
  Ptr_Glob->variant.var_1.Int_Comp = 40;
  std::strcpy(Ptr_Glob->variant.var_1.Str_Comp, "DHRYSTONE PROGRAM, SOME STRING");
  std::strcpy(Str_1_Loc, "DHRYSTONE PROGRAM, 1'ST STRING");
  Arr_2_Glob[8][7] = 10;

  for (Run_Index = 1; Run_Index <= Number_Of_Runs; ++Run_Index) {
    Proc_5();
    Proc_4();
    Int_1_Loc = 2;
    Int_2_Loc = 3;
    std::strcpy(Str_2_Loc, "DHRYSTONE PROGRAM, 2'ND STRING");
    Enum_Loc = Ident_2;
    Bool_Glob = !Func_2(Str_1_Loc, Str_2_Loc);
    while (Int_1_Loc < Int_2_Loc) {
      Int_3_Loc = 5 * Int_1_Loc - Int_2_Loc;
      Proc_7(Int_1_Loc, Int_2_Loc, &Int_3_Loc);
      Int_1_Loc += 1;
    }
    Proc_8(Arr_1_Glob, Arr_2_Glob, Int_1_Loc, Int_3_Loc);
    Proc_1(Ptr_Glob);
    for (Ch_Index = 'A'; Ch_Index <= Ch_2_Glob; ++Ch_Index) {
      if (Enum_Loc == Func_1(Ch_Index, 'C')) {
        Proc_6(Ident_1, &Enum_Loc);
        std::strcpy(Str_2_Loc, "DHRYSTONE PROGRAM, 3'RD STRING");
        Int_2_Loc = static_cast<int>(Run_Index);
        Int_Glob = static_cast<int>(Run_Index);
      }
    }
    Int_2_Loc = Int_2_Loc * Int_1_Loc;
    Int_1_Loc = Int_2_Loc / Int_3_Loc;
    Int_2_Loc = 7 * (Int_2_Loc - Int_3_Loc) - Int_1_Loc;
    Proc_2(&Int_1_Loc);
  }

  // The "should be" values printed by the original program, checked.
  if (Int_Glob != 5) return "Int_Glob";
  if (Bool_Glob != 1) return "Bool_Glob";
  if (Ch_1_Glob != 'A') return "Ch_1_Glob";
  if (Ch_2_Glob != 'B') return "Ch_2_Glob";
  if (Arr_1_Glob[8] != 7) return "Arr_1_Glob[8]";
  if (Arr_2_Glob[8][7] != static_cast<int>(Number_Of_Runs) + 10) return "Arr_2_Glob[8][7]";
  if (Ptr_Glob->Discr != Ident_1 || Ptr_Glob->variant.var_1.Enum_Comp != Ident_3 ||
      Ptr_Glob->variant.var_1.Int_Comp != 17 ||
      std::strcmp(Ptr_Glob->variant.var_1.Str_Comp, "DHRYSTONE PROGRAM, SOME STRING") != 0)
    return "Ptr_Glob";
  if (Next_Ptr_Glob->Discr != Ident_1 || Next_Ptr_Glob->variant.var_1.Enum_Comp != Ident_2 ||
      Next_Ptr_Glob->variant.var_1.Int_Comp != 18 ||
      std::strcmp(Next_Ptr_Glob->variant.var_1.Str_Comp, "DHRYSTONE PROGRAM, SOME STRING") != 0)
    return "Next_Ptr_Glob";
  if (Int_1_Loc != 5) return "Int_1_Loc";
  if (Int_2_Loc != 13) return "Int_2_Loc";
  if (Int_3_Loc != 7) return "Int_3_Loc";
  if (Enum_Loc != Ident_2) return "Enum_Loc";
  if (std::strcmp(Str_1_Loc, "DHRYSTONE PROGRAM, 1'ST STRING") != 0) return "Str_1_Loc";
  if (std::strcmp(Str_2_Loc, "DHRYSTONE PROGRAM, 2'ND STRING") != 0) return "Str_2_Loc";
  return "";
}

void Proc_1(Rec_Pointer Ptr_Val_Par) {
  Rec_Pointer Next_Record = Ptr_Val_Par->Ptr_Comp;
  *Ptr_Val_Par->Ptr_Comp = *Ptr_Glob;
  Ptr_Val_Par->variant.var_1.Int_Comp = 5;
  Next_Record->variant.var_1.Int_Comp = Ptr_Val_Par->variant.var_1.Int_Comp;
  Next_Record->Ptr_Comp = Ptr_Val_Par->Ptr_Comp;
  Proc_3(&Next_Record->Ptr_Comp);
  if (Next_Record->Discr == Ident_1) {
    Next_Record->variant.var_1.Int_Comp = 6;
    Proc_6(Ptr_Val_Par->variant.var_1.Enum_Comp, &Next_Record->variant.var_1.Enum_Comp);
    Next_Record->Ptr_Comp = Ptr_Glob->Ptr_Comp;
    Proc_7(Next_Record->variant.var_1.Int_Comp, 10, &Next_Record->variant.var_1.Int_Comp);
  } else {
    *Ptr_Val_Par = *Ptr_Val_Par->Ptr_Comp;
  }
}

void Proc_2(One_Fifty* Int_Par_Ref) {
  One_Fifty Int_Loc;
  Enumeration Enum_Loc = Ident_2;
  Int_Loc = *Int_Par_Ref + 10;
  do {
    if (Ch_1_Glob == 'A') {
      Int_Loc -= 1;
      *Int_Par_Ref = Int_Loc - Int_Glob;
      Enum_Loc = Ident_1;
    }
  } while (Enum_Loc != Ident_1);
}

void Proc_3(Rec_Pointer* Ptr_Ref_Par) {
  if (Ptr_Glob != nullptr) *Ptr_Ref_Par = Ptr_Glob->Ptr_Comp;
  Proc_7(10, Int_Glob, &Ptr_Glob->variant.var_1.Int_Comp);
}

void Proc_4() {
  Boolean Bool_Loc;
  Bool_Loc = Ch_1_Glob == 'A';
  Bool_Glob = Bool_Loc | Bool_Glob;
  Ch_2_Glob = 'B';
}

void Proc_5() {
  Ch_1_Glob = 'A';
  Bool_Glob = 0;
}

}  // namespace w::bench::dhry
