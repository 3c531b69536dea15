using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// Stack operations that change or probe the stack segment in protected mode: POP SS moves the stack pointer by the old
/// SS's B bit, o32 ENTER on a 16-bit stack keeps ESP[31:16], and ENTER checks the write at its final stack pointer
/// (Intel SDM Vol. 2B, POP; Vol. 2A, ENTER).
/// </summary>
public sealed class ProtectedModeStackTests
{
    private const uint PageDirectory = 0x60000;
    private const uint LowTable = 0x61000;
    private const uint HighTable = 0x62000;
    private const uint Present = 1;
    private const uint Rw = 2;
    private const uint Cr0Pg = 0x8000_0000;
    private const uint Cr0Wp = 0x1_0000;

    [Fact]
    public void Pop_ss_from_a_16_bit_stack_to_a_32_bit_segment_moves_sp_only()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ax, H.Data16);
            a.mov(ss, ax);
            a.mov(esp, 0x1234_8000);
            a.push(H.FlatData); // o32 push: SP = 7FFCh
            a.pop(ss); // o32 POP SS: SS.B was 0, so SP + 4 = 8000h and ESP[31:16] = 1234h (then SS becomes 32-bit)
            a.hlt();
        });
        Assert.Equal(H.FlatData, m.Cpu.GetSegment(SegmentRegister.Ss).Selector);
        Assert.Equal(0x1234_8000UL, m.Reg(GeneralRegister.Rsp));
        Assert.Equal(H.FlatData, m.Dword(0x40000 + 0x7FFC));
    }

    [Fact]
    public void Pop_ss_from_a_32_bit_stack_to_a_16_bit_segment_moves_all_of_esp()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(esp, 0x3_0000);
            a.push(H.Data16); // ESP = 2FFFCh
            a.pop(ss); // SS.B was 1: ESP + 4 = 30000h, the carry reaches ESP[31:16]
            a.hlt();
        });
        Assert.Equal(H.Data16, m.Cpu.GetSegment(SegmentRegister.Ss).Selector);
        Assert.Equal(0x3_0000UL, m.Reg(GeneralRegister.Rsp));
    }

    [Theory]
    [InlineData(0, 0x1234_7FF4u)] // push EBP, FrameTemp = 1234_7FFCh, then 8 bytes
    [InlineData(1, 0x1234_7FF0u)] // push EBP, push FrameTemp, then 8 bytes
    public void O32_enter_on_a_16_bit_stack_keeps_the_upper_half_of_esp_in_esp_and_ebp(int level, uint expectedEsp)
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ax, H.Data16);
            a.mov(ss, ax);
            a.mov(esp, 0x1234_8000);
            a.mov(ebp, unchecked((int)0xABCD_5678));
            a.enter(8, (byte)level);
            a.hlt();
        });
        Assert.Equal(expectedEsp, (uint)m.Reg(GeneralRegister.Rsp));
        Assert.Equal(0x1234_7FFCUL, m.Reg(GeneralRegister.Rbp));
        Assert.Equal(0xABCD_5678u, m.Dword(0x40000 + 0x7FFC));
        if (level == 1)
        {
            Assert.Equal(0x1234_7FFCu, m.Dword(0x40000 + 0x7FF8)); // the frame pointer pushed is the whole FrameTemp
        }
    }

    [Fact]
    public void Enter_whose_final_stack_location_is_read_only_raises_pf_and_changes_no_register()
    {
        // Linear 400000h (read-only) and 401000h (writable), CR0.WP = 1 so that CPL 0 may not write the read-only page:
        // ENTER 20h pushes EBP at 40100Ch and would leave ESP at 400FECh, which a write would fault on (Intel SDM Vol. 2A,
        // ENTER, #PF "if a write using the final value of the stack pointer would cause a page fault").
        var m = new H();
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), LowTable | Present | Rw);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory + 4), HighTable | Present | Rw);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(LowTable + (page * 4)), (page << 12) | Present | Rw);
        }

        m.Memory.WriteDoubleWord(new PhysicalAddress(HighTable), 0x50000 | Present);
        m.Memory.WriteDoubleWord(new PhysicalAddress(HighTable + 4), 0x51000 | Present | Rw);
        m.InstallGate(14);
        m.Run(a =>
        {
            a.mov(eax, PageDirectory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)(Cr0Pg | Cr0Wp)));
            a.mov(cr0, eax);
            a.mov(esp, 0x40_1010);
            a.mov(ebp, 0x1111);
            a.enter(0x20, 0);
            a.hlt();
        });
        Assert.Equal(14, m.Cpu.LastExceptionVector);
        Assert.Equal(0x40_0FECUL, m.Cpu.Cr2);

        // The handler's frame sits right below the unchanged ESP (40_1010h): error code (present, write), EIP of ENTER.
        Assert.Equal(0x40_1000UL, m.Reg(GeneralRegister.Rsp));
        Assert.Equal(3u, m.Dword(0x51000));
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbp));
        uint enterAddress = m.Dword(0x51004);
        Assert.Equal(0xC8, m.Memory.ReadByte(new PhysicalAddress(enterAddress)));
    }
}
