using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// Far JMP/CALL from compatibility mode into a 64-bit code segment (System/Cpu.FarTransfers.cs, FarOffsetOutOfRange):
/// a 64-bit code segment has no limit (Intel SDM Vol. 3A, 5.3.1), so only the canonical form of the offset counts.
/// memtest86+ x64 enters 64-bit mode through a descriptor whose limit is 0; Virt checked the limit and triple-faulted.
/// </summary>
public sealed class FarJumpIntoLongModeTests
{
    /// <summary>A present, DPL 0, execute/read 64-bit code segment (L=1, D=0, G=0) with base 0 and limit 0.</summary>
    private const ulong Code64LimitZero = 0x0020_9A00_0000_0000;

    private const byte JmpFarPtr = 0xEA;
    private const byte CallFarPtr = 0x9A;

    /// <summary>The length of JMP/CALL ptr16:32 (opcode, 32-bit offset, 16-bit selector), the last instruction of the entry code.</summary>
    private const int FarPtrLength = 7;

    private static H LoadWithLimitZero(byte farOpcode)
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(rbx, 0x1234_5678_9ABCUL);
            a.hlt();
        });
        m.SetDescriptor(H.Code64, Code64LimitZero);
        if (farOpcode != JmpFarPtr)
        {
            // The harness's entry code ends in JMP ptr16:32 Code64:CodeAddress; CALL ptr16:32 has the same layout.
            int length = H.Assemble(32, a => a.jmp(H.Code64, H.CodeAddress), H.EntryAddress).Length;
            Assert.Equal(FarPtrLength, length);
            ulong entryEnd = FindEntryEnd(m);
            m.Memory.WriteByte(new PhysicalAddress(entryEnd - FarPtrLength), farOpcode);
        }

        return m;
    }

    private static ulong FindEntryEnd(H m)
    {
        // The JMP far is the last instruction of the entry code: scan for EA <CodeAddress> <Code64>.
        for (ulong address = H.EntryAddress; address < H.EntryAddress + 0x100; address++)
        {
            if (m.Memory.ReadByte(new PhysicalAddress(address)) == JmpFarPtr
                && m.Memory.ReadDoubleWord(new PhysicalAddress(address + 1)) == H.CodeAddress
                && m.Memory.ReadWord(new PhysicalAddress(address + 5)) == H.Code64)
            {
                return address + FarPtrLength;
            }
        }

        throw new InvalidOperationException("the entry code's far jump was not found");
    }

    [Fact]
    public void Jmp_far_from_compatibility_mode_ignores_the_limit_of_a_64_bit_code_segment()
    {
        H m = LoadWithLimitZero(JmpFarPtr);
        m.Cpu.Run(10_000);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1234_5678_9ABCUL, m.Reg(GeneralRegister.Rbx));
    }

    [Fact]
    public void Call_far_from_compatibility_mode_ignores_the_limit_of_a_64_bit_code_segment()
    {
        H m = LoadWithLimitZero(CallFarPtr);
        m.Cpu.Run(10_000);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x1234_5678_9ABCUL, m.Reg(GeneralRegister.Rbx));
        // The call pushed the compatibility-mode return address (CS, EIP as 32-bit slots).
        Assert.Equal((ulong)H.Code32, m.Qword(H.StackTop - 4) & 0xFFFF);
    }

    [Fact]
    public void Jmp_far_to_a_compatibility_mode_code_segment_still_checks_its_limit()
    {
        var m = new H();
        m.Load(a => a.hlt());
        ulong entryEnd = FindEntryEnd(m);
        // Retarget the entry's far jump at a spare selector holding an L=0 (compatibility-mode) segment with limit 0;
        // the #GP handler still runs through the intact Code64 descriptor.
        m.SetDescriptor(H.Code64User, 0x0000_9A00_0000_0000);
        m.Memory.WriteWord(new PhysicalAddress(entryEnd - 2), H.Code64User);
        m.Cpu.Run(10_000);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HaltedIn(13), m.Cpu.Rip);
    }
}
