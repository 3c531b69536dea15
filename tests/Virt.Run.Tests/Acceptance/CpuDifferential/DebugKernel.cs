using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 4: debug exceptions (Intel SDM Vol. 3B, 17.2-17.3): instruction breakpoints (fault, DR6.Bn, RF
/// suppression through IRET), data write and read/write breakpoints (traps), I/O breakpoints, single step (BS), MOV SS
/// holding the single-step trap, general detect (BD) and the DR6/DR7 read-back values.
/// </summary>
internal static class DebugKernel
{
    private const uint Data = DiffKernel.Scratch + 0x10;

    public static byte[] Build() => DiffKernel.Build(k =>
    {
        Assembler a = k.A;

        void Dr7(uint value)
        {
            a.mov(eax, value);
            a.mov(dr7, eax);
        }

        void Disarm()
        {
            a.xor(eax, eax);
            a.mov(dr7, eax);
            a.mov(dr6, eax);
        }

        // Read-back: DR7 bit 10 and DR6 bits 4-11 and 16-31 read as 1 (SDM 17.2.3, 17.2.4).
        Disarm();
        k.Str("D00 ");
        a.mov(eax, dr6);
        k.P(eax);
        a.mov(eax, dr7);
        k.P(eax);
        k.Str("\n");

        // Instruction breakpoint: #DB is a fault, EIP at the instruction, DR6.B0 (SDM 17.3.1.1).
        a.mov(eax, k.Addr("bp0"));
        a.mov(dr0, eax);
        k.Expect("D01", () =>
        {
            Dr7(0x1);
            a.nop();
            k.Mark("bp0");
            a.mov(eax, 0x1234);
        });
        Disarm();

        // RF = 1 in the IRET frame suppresses the instruction breakpoint for one instruction; the next one hits.
        a.mov(eax, k.Addr("bp1"));
        a.mov(dr1, eax);
        a.mov(eax, k.Addr("bp1b"));
        a.mov(dr2, eax);
        k.Expect("D02", () =>
        {
            Dr7(0x4 | 0x10);
            a.pushfd();
            a.or(__dword_ptr[esp], 0x10000);
            a.push(DiffKernel.Code0);
            a.push(k.Addr("bp1"));
            a.iretd();
            k.Mark("bp1");
            a.mov(eax, 0x5678);
            k.Mark("bp1b");
            a.mov(eax, 0x9ABC);
        });
        Disarm();

        // Data write breakpoint, 4 bytes: a read does not match RW = 01; a write traps after the instruction (SDM 17.3.1.2).
        a.mov(eax, Data);
        a.mov(dr1, eax);
        k.Expect("D03", () =>
        {
            Dr7(0x4 | (0x1u << 20) | (0x3u << 22));
            a.mov(ebx, __dword_ptr[Data]);
            a.mov(eax, 0x1111);
            a.mov(__dword_ptr[Data], eax);
            a.mov(eax, 0x2222);
        });
        Disarm();

        // Read/write breakpoint on 2 bytes at Data+2, hit by an overlapping dword read through DR3 with GE.
        a.mov(eax, Data + 2);
        a.mov(dr3, eax);
        k.Expect("D04", () =>
        {
            Dr7(0x40 | 0x200 | (0x3u << 28) | (0x1u << 30));
            a.mov(ebx, __dword_ptr[Data]);
            a.mov(eax, 0x3333);
        });
        Disarm();

        // Two breakpoints hit by one instruction: both B bits.
        a.mov(eax, Data);
        a.mov(dr0, eax);
        a.mov(eax, Data + 4);
        a.mov(dr2, eax);
        k.Expect("D05", () =>
        {
            Dr7(0x1 | 0x10 | (0x1u << 16) | (0x3u << 18) | (0x1u << 24) | (0x3u << 26));
            a.mov(__dword_ptr[Data + 2], eax);
            a.mov(eax, 0x4444);
        });
        Disarm();

        // A breakpoint that is set but not enabled still reports its B bit when another one triggers (SDM 17.2.3).
        a.mov(eax, Data);
        a.mov(dr0, eax);
        a.mov(eax, Data);
        a.mov(dr1, eax);
        k.Expect("D06", () =>
        {
            Dr7((0x1u << 16) | (0x3u << 18) | 0x4 | (0x1u << 20) | (0x3u << 22) & ~0x1u);
            a.mov(__dword_ptr[Data], eax);
            a.mov(eax, 0x5555);
        });
        Disarm();

        // Single step: POPF sets TF; the trap follows the next instruction, with DR6.BS (SDM 17.3.1.4).
        k.Expect("D07", () =>
        {
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd();
            a.mov(eax, 0x6666);
            a.mov(eax, 0x7777);
        });

        // MOV SS right after the POPF: its single-step trap is held until after the next instruction (SDM Vol. 3A, 6.8.3).
        k.Expect("D08", () =>
        {
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd();
            a.mov(ss, __word_ptr[DiffKernel.DataSelectorWord]);
            a.mov(eax, 0x9999);
            a.mov(eax, 0xAAAA);
        });

        // General detect: with DR7.GD a MOV to a debug register is a #DB fault with DR6.BD; GD is cleared on delivery.
        k.Expect("D09", () =>
        {
            Dr7(0x2000);
            a.mov(eax, 0xBBBB);
            a.mov(dr0, eax);
        });
        k.Str("D10 ");
        a.mov(eax, dr7);
        k.P(eax);
        k.Str("\n");
        Disarm();

        // I/O breakpoint (CR4.DE = 1, RW = 10): OUT to port 80h traps after the instruction.
        a.mov(eax, cr4);
        a.or(eax, 0x8);
        a.mov(cr4, eax);
        a.mov(eax, 0x80);
        a.mov(dr3, eax);
        k.Expect("D11", () =>
        {
            Dr7(0x40 | (0x2u << 28));
            a.mov(al, 0x5A);
            a.@out(0x80, al);
            a.mov(eax, 0xCCCC);
        });
        Disarm();
        a.mov(eax, cr4);
        a.and(eax, ~0x8);
        a.mov(cr4, eax);

        // CR4.DE = 1: DR4/DR5 references are #UD (SDM 17.2.2).
        a.mov(eax, cr4);
        a.or(eax, 0x8);
        a.mov(cr4, eax);
        k.Expect("D12", () => a.mov(eax, dr5));
        a.mov(eax, cr4);
        a.and(eax, ~0x8);
        a.mov(cr4, eax);
        k.Expect("D13", () =>
        {
            a.mov(eax, dr5); // aliases DR7 with CR4.DE = 0
            k.P(eax);
        });
    });
}
