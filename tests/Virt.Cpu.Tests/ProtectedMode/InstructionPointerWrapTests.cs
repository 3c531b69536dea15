using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// 16-bit code whose IP wraps from FFFFh to 0 under paging (issue 11): an instruction at CS:FFFF whose bytes continue at
/// CS:0000 once sent the block lookup into unbounded recursion, because the page-crossing check looked at the linear page
/// after CS:FFFF instead of the page holding CS:0000. These guests must run (or fault) exactly as the architecture says.
/// </summary>
public sealed class InstructionPointerWrapTests
{
    private const uint PageDirectory = 0x60000;
    private const uint PageTable = 0x61000;
    private const uint PagePresentWritableUser = 7;
    private const uint FlagVm = 1u << 17;
    private const int VectorGeneralProtection = 13;

    /// <summary>16-bit code segment, base 20000h, byte-granular limit FFFFFh: IP still wraps at FFFFh (D = 0), the limit does not stop it.</summary>
    private const ulong Code16BigLimit = 0x000F_9A02_0000_FFFF;

    /// <summary>16-bit code segment, base 20000h, limit FFFFh.</summary>
    private const ulong Code16SmallLimit = 0x0000_9A02_0000_FFFF;

    private const uint CodeBase = 0x20000;
    private const int Iterations = 1000;

    [Fact]
    public void Sixteen_bit_protected_mode_instruction_whose_immediate_wraps_to_offset_0_runs_under_paging()
    {
        // CS:FFFF  B0 42     MOV AL, 42h (the immediate is the byte at CS:0000)
        // CS:0001  41        INC CX
        // CS:0002  EB FB     JMP FFFFh
        var m = CreatePagedProtectedMode(Code16BigLimit);
        m.Memory.WriteByte(new PhysicalAddress(CodeBase + 0xFFFF), 0xB0);
        m.Memory.Write(new PhysicalAddress(CodeBase), [0x42, 0x41, 0xEB, 0xFB]);

        long start = EnterSixteenBitCode(m);
        StopReason reason = m.Cpu.Run(3 * Iterations);

        Assert.Equal(StopReason.BudgetExhausted, reason);
        Assert.Equal(3L * Iterations, m.Cpu.RetiredInstructions - start);
        Assert.Equal((ulong)Iterations, m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x42UL, m.Reg(GeneralRegister.Rax) & 0xFF);
        Assert.Equal(0xFFFFu, m.Cpu.Eip);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void Wrapped_instruction_sees_a_rewrite_of_its_immediate_at_offset_0()
    {
        // The loop rewrites the immediate of the wrapping MOV (at CS:0000) through a data alias, so a stale decode would show.
        //   CS:FFFF  B0 xx       MOV AL, xx
        //   CS:0001  FE 06 00 00 INC BYTE [0000]  (DS = the code's base through a writable alias)
        //   CS:0005  00 C4       ADD AH, AL
        //   CS:0007  EB F6       JMP FFFFh
        var m = CreatePagedProtectedMode(Code16BigLimit);
        m.SetDescriptor(H.Data16, 0x0000_9202_0000_FFFF); // base 20000h, writable
        m.Memory.WriteByte(new PhysicalAddress(CodeBase + 0xFFFF), 0xB0);
        m.Memory.Write(new PhysicalAddress(CodeBase), [0x01, 0xFE, 0x06, 0x00, 0x00, 0x00, 0xC4, 0xEB, 0xF6]);

        long start = EnterSixteenBitCode(m, a =>
        {
            a.mov(ax, H.Data16);
            a.mov(ds, ax);
            a.xor(eax, eax);
        });
        const int loops = 10;
        m.Cpu.Run(4 * loops);

        Assert.Equal(4L * loops, m.Cpu.RetiredInstructions - start);

        // AL takes 1, 2, ..., 10 in turn (each MOV reads the byte the previous iteration incremented); AH sums them.
        Assert.Equal((ulong)(loops * (loops + 1) / 2) & 0xFF, (m.Reg(GeneralRegister.Rax) >> 8) & 0xFF);
        Assert.Equal((ulong)loops, m.Reg(GeneralRegister.Rax) & 0xFF);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Block_cached_through_one_cs_is_decoded_afresh_where_another_cs_makes_it_wrap(bool paging)
    {
        // Linear 2FFFFh holds B0 (MOV AL, imm8). Through segment 38h (base 2FFFFh) it is IP 0 and the immediate is the byte
        // at 30000h (77h); through segment 18h (base 20000h, limit FFFFFh) it is IP FFFFh and the immediate wraps to CS:0000
        // (55h). Both reach the same physical address, so the same cache key: the second entry must not run the first's decode.
        //   38:0000  B0 77           MOV AL, 77h
        //   38:0002  88 C3           MOV BL, AL
        //   38:0004  EA FF FF 18 00  JMP FAR 0018:FFFF
        //   18:FFFF  B0 55           MOV AL, 55h (immediate at 18:0000)
        //   18:0001  F4              HLT
        const ushort aliasSelector = H.ExecuteOnlyCode;
        var m = paging ? CreatePagedProtectedMode(Code16BigLimit) : new H();
        if (!paging)
        {
            m.SetDescriptor(H.Code16, Code16BigLimit);
        }

        m.SetDescriptor(aliasSelector, 0x0000_9A02_FFFF_FFFF);
        m.Memory.Write(new PhysicalAddress(CodeBase + 0xFFFF), [0xB0, 0x77, 0x88, 0xC3, 0xEA, 0xFF, 0xFF, 0x18, 0x00]);
        m.Memory.Write(new PhysicalAddress(CodeBase), [0x55, 0xF4]);

        m.Load(a =>
        {
            if (paging)
            {
                EnablePaging(a);
            }

            a.jmp(aliasSelector, 0);
        });
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100));

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x77UL, m.Reg(GeneralRegister.Rbx) & 0xFF);
        Assert.Equal(0x55UL, m.Reg(GeneralRegister.Rax) & 0xFF);
        Assert.Equal(H.Code16, m.Cpu.GetSegment(SegmentRegister.Cs).Selector);
        Assert.Equal(2u, m.Cpu.Eip);
    }

    [Fact]
    public void Wrapping_instruction_over_three_pages_sees_rewrites_of_its_middle_page()
    {
        // CS base 20FF8h (not page-aligned), limit FFFFFh. A 13-byte instruction at CS:FFFC lies on three pages: FFFC-FFFF at
        // linear 30FF4h, 0000-0007 at 20FF8h, 0008 at 21000h. The loop rewrites its immediate's low byte (offset 5, in the
        // middle page) each time, so a decode that missed that page would store a stale value. No paging.
        //   CS:FFFC  3E 66 67 C7 83 00 90 00 00 11 22 33 44   MOV DWORD DS:[EBX + 9000h], 44332211h
        //   CS:0009  67 FE 83 FD 0F 02 00                     INC BYTE [EBX + 20FFDh]
        //   CS:0010  49                                       DEC CX
        //   CS:0011  75 E9                                    JNZ FFFCh
        //   CS:0013  F4                                       HLT
        const uint codeBase = 0x20FF8;
        var m = new H();
        m.SetDescriptor(H.Code16, 0x000F_9A02_0FF8_FFFF);
        m.Memory.Write(new PhysicalAddress(codeBase + 0xFFFC), [0x3E, 0x66, 0x67, 0xC7]);
        m.Memory.Write(
            new PhysicalAddress(codeBase),
            [0x83, 0x00, 0x90, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x67, 0xFE, 0x83, 0xFD, 0x0F, 0x02, 0x00, 0x49, 0x75, 0xE9, 0xF4]);

        long start = EnterSixteenBitCode(m, a =>
        {
            a.xor(ebx, ebx);
            a.mov(ecx, 3);
        }, entry: 0xFFFC, paging: false);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100));

        Assert.Equal(0x4433_2213u, m.Dword(0x9000));
        Assert.Equal(0x14, m.Memory.ReadByte(new PhysicalAddress(codeBase + 5)));
        Assert.Equal(13L, m.Cpu.RetiredInstructions - start); // three rounds of MOV, INC, DEC, JNZ; then HLT
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void Sixteen_bit_protected_mode_instruction_crossing_a_limit_of_ffffh_is_gp0_under_paging()
    {
        // CS:0000 41 (INC CX), EB FC (JMP FFFFh); CS:FFFF B0 (MOV AL, imm8 whose immediate would be at offset 10000h): #GP(0).
        var m = CreatePagedProtectedMode(Code16SmallLimit);
        m.InstallGate(VectorGeneralProtection);
        m.Memory.WriteByte(new PhysicalAddress(CodeBase + 0xFFFF), 0xB0);
        m.Memory.Write(new PhysicalAddress(CodeBase), [0x41, 0xEB, 0xFC]);

        long start = EnterSixteenBitCode(m, entry: 0);
        StopReason reason = m.Cpu.Run(1000);

        Assert.Equal(StopReason.Halted, reason);
        Assert.Equal(VectorGeneralProtection, m.Cpu.LastExceptionVector);
        Assert.Equal(0xFFFFu, m.Dword(H.StackTop - 12)); // the return address is the MOV
        Assert.Equal(0u, m.Dword(H.StackTop - 16)); // error code 0
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rcx) & 0xFFFF); // the loop ran once
        AssertRetiredUpToTheFault(m.Cpu.RetiredInstructions - start);
    }

    [Fact]
    public void Virtual_8086_reproducer_of_issue_11_is_gp0_to_the_monitor()
    {
        // The guest bytes of issue 11 (B0 at CS:FFFF, a JMP to it at CS:0000) with an INC CX in front, paging on.
        var v = new Virtual8086Harness();
        v.Machine.InstallGate(VectorGeneralProtection);
        WritePageTables(v.Memory);
        v.LoadBytes([0x41, 0xEB, 0xFC], eflags: 0, beforeIret: a =>
        {
            EnablePaging(a);
            a.xor(ecx, ecx);
        });
        v.Memory.WriteByte(new PhysicalAddress(((uint)Virtual8086Harness.V86Cs << 4) + 0xFFFF), 0xB0);

        long start = EnterVirtual8086(v);
        StopReason reason = v.Run(1000);

        Assert.Equal(StopReason.Halted, reason);
        Assert.Equal(VectorGeneralProtection, v.Cpu.LastExceptionVector);
        Assert.Equal(0xFFFFu, v.Pushed(9)); // EIP: the MOV whose immediate lies beyond the limit
        Assert.Equal(Virtual8086Harness.V86Cs, v.Pushed(8)); // CS
        Assert.Equal(0u, v.Pushed(10)); // error code
        Assert.Equal(1UL, v.Reg(GeneralRegister.Rcx)); // the loop ran once
        AssertRetiredUpToTheFault(v.Cpu.RetiredInstructions - start);
    }

    [Fact]
    public void Virtual_8086_one_byte_instruction_at_ffffh_wraps_ip_to_0_under_paging()
    {
        // 2000:0000 42 (INC DX), EB FC (JMP FFFFh); 2000:FFFF 41 (INC CX), then IP wraps to 0.
        var v = new Virtual8086Harness();
        WritePageTables(v.Memory);
        v.LoadBytes([0x42, 0xEB, 0xFC], eflags: 0, beforeIret: a =>
        {
            EnablePaging(a);
            a.xor(ecx, ecx);
            a.xor(edx, edx);
        });
        v.Memory.WriteByte(new PhysicalAddress(((uint)Virtual8086Harness.V86Cs << 4) + 0xFFFF), 0x41);

        long start = EnterVirtual8086(v);
        StopReason reason = v.Run((3 * Iterations) + 1);

        Assert.Equal(StopReason.BudgetExhausted, reason);
        Assert.Equal((3L * Iterations) + 1, v.Cpu.RetiredInstructions - start);
        Assert.Equal((ulong)Iterations, v.Reg(GeneralRegister.Rcx));
        Assert.Equal((ulong)Iterations + 1, v.Reg(GeneralRegister.Rdx));
        Assert.Equal(1u, v.Cpu.Eip);
        Assert.Equal(-1, v.Cpu.LastExceptionVector);
    }

    /// <summary>
    /// INC CX, JMP and the handler's HLT retired; the faulting MOV may use one unit of the budget as well (the run loop
    /// counts a faulting instruction against the budget, so that a guest faulting in a loop still returns to the host).
    /// </summary>
    private static void AssertRetiredUpToTheFault(long retired) => Assert.InRange(retired, 3L, 4L);

    private static H CreatePagedProtectedMode(ulong codeDescriptor)
    {
        var m = new H();
        m.SetDescriptor(H.Code16, codeDescriptor);
        WritePageTables(m.Memory);
        return m;
    }

    /// <summary>Identity-maps the 1 MiB of RAM with user, writable pages.</summary>
    private static void WritePageTables(PhysicalMemoryMap memory)
    {
        memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), PageTable | PagePresentWritableUser);
        for (uint page = 0; page < 256; page++)
        {
            memory.WriteDoubleWord(new PhysicalAddress(PageTable + (page * 4)), (page << 12) | PagePresentWritableUser);
        }
    }

    private static void EnablePaging(Assembler a)
    {
        a.mov(eax, PageDirectory);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0000));
        a.mov(cr0, eax);
    }

    /// <summary>Runs the 32-bit set-up code (paging on unless told otherwise, then a far JMP to the 16-bit segment) and returns the retired count there.</summary>
    private static long EnterSixteenBitCode(H m, Action<Assembler>? setup = null, ushort entry = 0xFFFF, bool paging = true)
    {
        m.Load(a =>
        {
            if (paging)
            {
                EnablePaging(a);
            }

            a.xor(ecx, ecx);
            setup?.Invoke(a);
            a.jmp(H.Code16, entry);
        });
        for (int i = 0; i < 100 && m.Cpu.GetSegment(SegmentRegister.Cs).Selector != H.Code16; i++)
        {
            m.Cpu.Step();
        }

        Assert.Equal(H.Code16, m.Cpu.GetSegment(SegmentRegister.Cs).Selector);
        Assert.Equal(entry, m.Cpu.Eip);
        return m.Cpu.RetiredInstructions;
    }

    /// <summary>Runs the monitor up to its IRET into virtual-8086 mode and returns the retired count there.</summary>
    private static long EnterVirtual8086(Virtual8086Harness v)
    {
        for (int i = 0; i < 100 && (v.Cpu.Flags & FlagVm) == 0; i++)
        {
            v.Cpu.Step();
        }

        Assert.Equal(FlagVm, v.Cpu.Flags & FlagVm);
        return v.Cpu.RetiredInstructions;
    }
}
