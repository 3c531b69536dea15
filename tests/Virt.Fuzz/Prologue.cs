using System.Buffers.Binary;
using static Virt.Fuzz.GuestLayout;

namespace Virt.Fuzz;

/// <summary>
/// The ring-0 32-bit code a protected-mode guest starts with: it loads TR, turns paging on (CR3, CR4, CR0.PG) and enters
/// the mode of the case (a jump, a far jump to 16-bit code, or an IRETD to ring 3 or virtual-8086 mode) with the random
/// registers and flags of the case.
/// </summary>
internal static class Prologue
{
    private const uint Cr0Pg = 1u << 31;
    private const uint FlagVm = 1u << 17;

    public static byte[] Build(FuzzMode mode, bool paging, uint cr4, uint cr0Extra, uint eflags, uint[] registers)
    {
        var code = new List<byte>(128);
        void Bytes(params byte[] b) => code.AddRange(b);
        void Dword(uint value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, value);
            code.AddRange(b.ToArray());
        }

        void LoadSegments(ushort selector, params byte[] modrms)
        {
            Bytes(0x66, 0xB8);
            Bytes((byte)selector, (byte)(selector >> 8)); // mov ax, selector
            foreach (byte modrm in modrms)
            {
                Bytes(0x8E, modrm); // mov sreg, ax
            }
        }

        LoadSegments(Tss);
        Bytes(0x0F, 0x00, 0xD8); // ltr ax
        Bytes(0xB8);
        Dword(cr4);
        Bytes(0x0F, 0x22, 0xE0); // mov cr4, eax
        if (paging)
        {
            Bytes(0xB8);
            Dword(mode == FuzzMode.Pae ? PaePdptAddress : PageDirectoryAddress);
            Bytes(0x0F, 0x22, 0xD8); // mov cr3, eax
            Bytes(0x0F, 0x20, 0xC0); // mov eax, cr0
            Bytes(0x0D);
            Dword(Cr0Pg | cr0Extra); // or eax, PG (and maybe WP)
            Bytes(0x0F, 0x22, 0xC0); // mov cr0, eax
            Bytes(0xEB, 0x00); // jmp $+2
        }

        switch (mode)
        {
            case FuzzMode.Protected16:
            case FuzzMode.Protected16Paging:
                LoadSegments(Data16, 0xD8, 0xC0, 0xE0, 0xE8); // ds, es, fs, gs
                LoadSegments(Stack16, 0xD0); // ss
                Bytes(0xBC);
                Dword(Stack16Pointer); // mov esp, FFF0h
                PushFlagsAndPopThem();
                LoadRegisters();
                Bytes(0xEA); // jmp far Code16:0
                Dword(0);
                Bytes((byte)Code16, 0);
                break;
            case FuzzMode.Ring3:
                LoadSegments(FlatData3, 0xD8, 0xC0, 0xE0, 0xE8);
                Push(FlatData3);
                Push(Ring3StackTop);
                Push(eflags);
                Push(FlatCode3);
                Push(CodeAddress);
                LoadRegisters();
                Bytes(0xCF); // iretd
                break;
            case FuzzMode.Virtual8086:
                Push(0); // gs
                Push(0); // fs
                Push(0); // ds
                Push(0); // es
                Push(Stack16Base >> 4); // ss
                Push(Stack16Pointer); // sp
                Push(eflags | FlagVm);
                Push(CodeAddress >> 4); // cs
                Push(0); // ip
                LoadRegisters();
                Bytes(0xCF); // iretd
                break;
            default:
                PushFlagsAndPopThem();
                LoadRegisters();
                Bytes(0xE9); // jmp near CodeAddress
                Dword(CodeAddress - (PrologueAddress + (uint)code.Count + 4));
                break;
        }

        return [.. code];

        void Push(uint value)
        {
            Bytes(0x68);
            Dword(value); // push imm32
        }

        void PushFlagsAndPopThem()
        {
            Push(eflags);
            Bytes(0x9D); // popfd
        }

        void LoadRegisters()
        {
            for (int r = 0; r < registers.Length; r++)
            {
                if (r == 4)
                {
                    continue; // ESP stays
                }

                Bytes((byte)(0xB8 + r));
                Dword(registers[r]); // mov r32, imm32
            }
        }
    }
}
