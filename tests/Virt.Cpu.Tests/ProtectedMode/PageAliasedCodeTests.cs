using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// Code whose bytes cross a linear page boundary into a page that maps to the same physical frame: the decoded block's bytes
/// are not one physical run, so a write anywhere in the frame must drop it (it once escaped the range check, leaving stale code).
/// </summary>
public sealed class PageAliasedCodeTests
{
    private const uint PageDirectory = 0x60000;
    private const uint LowTable = 0x61000;
    private const uint HighTable = 0x62000;
    private const uint Frame = 0x50000;
    private const uint PresentWritable = 3;

    [Fact]
    public void Instruction_crossing_into_an_alias_of_its_own_frame_sees_a_rewrite_of_its_tail()
    {
        // Linear 400000h and 401000h both map to frame 50000h. MOV EAX, 44332211h starts at 400FFEh: B8 and 11 at frame
        // offsets FFEh-FFFh, then 22 33 44 at offsets 0-2 (through 401000h); RET at 401003h (offset 3).
        var m = new H();
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), LowTable | PresentWritable);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory + 4), HighTable | PresentWritable);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(LowTable + (page * 4)), (page << 12) | PresentWritable);
        }

        m.Memory.WriteDoubleWord(new PhysicalAddress(HighTable), Frame | PresentWritable);
        m.Memory.WriteDoubleWord(new PhysicalAddress(HighTable + 4), Frame | PresentWritable);
        m.Memory.Write(new PhysicalAddress(Frame + 0xFFE), [0xB8, 0x11]);
        m.Memory.Write(new PhysicalAddress(Frame), [0x22, 0x33, 0x44, 0xC3]);

        m.Run(a =>
        {
            a.mov(eax, PageDirectory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8000_0000));
            a.mov(cr0, eax);
            a.mov(ebx, 0x400FFE);
            a.call(ebx);
            a.mov(esi, eax);
            a.mov(__byte_ptr[0x401001], 0x99); // frame offset 1: the instruction's third immediate byte
            a.call(ebx);
            a.hlt();
        });

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x4433_2211UL, m.Reg(GeneralRegister.Rsi));
        Assert.Equal(0x4499_2211UL, m.Reg(GeneralRegister.Rax));
    }
}
