using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// Debug exceptions raised from the debug registers (Intel SDM Vol. 3B, 17.2-17.3): instruction, data and I/O breakpoints,
/// general detect, single-step status, RF and DR4/DR5 with CR4.DE. DR7 encodings: Ln = bit 2n, R/Wn = bits 16+4n, LENn =
/// bits 18+4n (LEN 00 = 1 byte, 01 = 2, 11 = 4).
/// </summary>
public sealed class DebugExceptionTests
{
    private const uint HandlerCode = 0x20000;
    private const uint TargetCode = 0x11000;
    private const uint LogAddress = 0x7000;

    // The #DB handler: logs DR6 to LogAddress + 4 * ECX and the return EIP and pushed EFLAGS to the two following arrays,
    // counts in ECX, clears DR6, and returns with IRETD (optionally setting RF in the frame first).
    private const uint LogEip = LogAddress + 0x100;
    private const uint LogFlags = LogAddress + 0x200;

    private static uint Dr7(int n, int rw, int len) => (1u << (2 * n)) | ((uint)rw << (16 + (4 * n))) | ((uint)len << (18 + (4 * n)));

    /// <summary>Installs a 32-bit interrupt gate for <paramref name="vector"/> to code assembled at <see cref="HandlerCode"/>.</summary>
    private static void InstallHandler(H m, int vector, Action<Assembler> build, uint address = HandlerCode)
    {
        m.Memory.Write(new PhysicalAddress(address), H.Assemble(32, build, address));
        ulong gate = (address & 0xFFFFUL) | ((ulong)H.FlatCode << 16) | (0x8EUL << 40) | ((ulong)(address >> 16) << 48);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + ((uint)vector * 8)), gate);
    }

    private static void InstallLoggingDebugHandler(H m, bool setResumeFlag = false) => InstallHandler(m, 1, a =>
    {
        a.mov(eax, dr6);
        a.mov(__dword_ptr[(ecx * 4) + (int)LogAddress], eax);
        a.mov(eax, __dword_ptr[esp]);
        a.mov(__dword_ptr[(ecx * 4) + (int)LogEip], eax);
        a.mov(eax, __dword_ptr[esp + 8]);
        a.mov(__dword_ptr[(ecx * 4) + (int)LogFlags], eax);
        a.inc(ecx);
        a.xor(eax, eax);
        a.mov(dr6, eax);
        if (setResumeFlag)
        {
            a.or(__dword_ptr[esp + 8], 0x10000);
        }

        a.iretd();
    });

    /// <summary>Loads <paramref name="build"/> as the main program and returns the address of the label it returns.</summary>
    private static uint LoadWithLabel(H m, Func<Assembler, Label> build)
    {
        var a = new Assembler(32);
        Label label = build(a);
        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), H.CodeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
        m.Load(x => build(x));
        return (uint)result.GetLabelRIP(label);
    }

    private static uint LoggedDr6(H m, int i) => m.Dword(LogAddress + ((uint)i * 4));

    private static uint LoggedEip(H m, int i) => m.Dword(LogEip + ((uint)i * 4));

    private static uint LoggedFlags(H m, int i) => m.Dword(LogFlags + ((uint)i * 4));

    private static uint Count(H m) => (uint)m.Reg(GeneralRegister.Rcx);

    /// <summary>
    /// With <paramref name="enable"/>, a host read/write watch on the 4 bytes at <paramref name="address"/>: the assertions
    /// after it are those without, as host watches must not change DR6 or #DB delivery (Cpu.HostWatches.cs).
    /// </summary>
    private static List<HostWatchAccess> WatchSameRange(H m, bool enable, uint address)
    {
        var hits = new List<HostWatchAccess>();
        if (enable)
        {
            m.Cpu.AddHostWatch(address, 4, reads: true, writes: true);
            m.Cpu.HostWatchHandler = hit =>
            {
                hits.Add(hit);
                return false;
            };
        }

        return hits;
    }

    [Fact]
    public void Instruction_breakpoint_faults_before_the_instruction_and_rf_lets_it_complete()
    {
        var m = new H();
        InstallLoggingDebugHandler(m, setResumeFlag: true);
        m.Memory.Write(new PhysicalAddress(TargetCode), H.Assemble(32, a =>
        {
            Label top = a.CreateLabel();
            a.Label(ref top);
            a.inc(ebx);
            a.cmp(ebx, 2);
            a.jb(top);
            a.hlt();
        }, TargetCode));
        m.Load(a =>
        {
            a.xor(ecx, ecx);
            a.xor(ebx, ebx);
            a.mov(eax, TargetCode);
            a.mov(dr0, eax);
            a.mov(eax, Dr7(0, 0, 0));
            a.mov(dr7, eax);
            a.mov(eax, TargetCode);
            a.jmp(eax);
        });
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(2UL, m.Reg(GeneralRegister.Rbx)); // the instruction ran after each IRET
        Assert.Equal(2u, Count(m)); // RF is cleared once INC completes, so the second pass faults again
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(TargetCode, LoggedEip(m, i)); // fault: the return address is the instruction itself
            Assert.Equal(1u, LoggedDr6(m, i) & 0xF); // B0
            Assert.Equal(0u, LoggedDr6(m, i) & 0x4000); // not single-step

            // Intel SDM Vol. 3B, 17.3.1.1: the RF pushed for an instruction-breakpoint #DB is EFLAGS.RF, which is 0 here.
            Assert.Equal(0u, LoggedFlags(m, i) & 0x10000);
        }

        Assert.Equal(0u, m.Cpu.Flags & 0x10000);
    }

    [Fact]
    public void Instruction_breakpoint_without_rf_in_the_frame_faults_again_on_return()
    {
        var m = new H();
        InstallLoggingDebugHandler(m, setResumeFlag: false);
        m.Memory.WriteByte(new PhysicalAddress(TargetCode), 0xF4);
        m.Load(a =>
        {
            a.xor(ecx, ecx);
            a.mov(eax, TargetCode);
            a.mov(dr0, eax);
            a.mov(eax, Dr7(0, 0, 0));
            a.mov(dr7, eax);
            a.mov(eax, TargetCode);
            a.jmp(eax);
        });
        m.Cpu.Run(200);
        Assert.False(m.Cpu.IsHalted);
        Assert.True(Count(m) > 3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_breakpoint_traps_after_the_mov_and_ignores_reads(bool hostWatch)
    {
        var m = new H();
        List<HostWatchAccess> watched = WatchSameRange(m, hostWatch, 0x5000);
        InstallLoggingDebugHandler(m);
        uint next = LoadWithLabel(m, a =>
        {
            Label after = a.CreateLabel();
            a.xor(ecx, ecx);
            a.mov(eax, 0x5000);
            a.mov(dr1, eax);
            a.mov(eax, Dr7(1, 1, 3)); // write, 4 bytes
            a.mov(dr7, eax);
            a.mov(edx, __dword_ptr[0x5000]); // a read does not match R/W = 01
            a.mov(__byte_ptr[0x5003], 0x5A);
            a.Label(ref after);
            a.nop();
            a.hlt();
            return after;
        });
        m.Cpu.Run(1000);
        Assert.Equal(hostWatch, watched.Count != 0); // the host watch saw the access; the guest sees the same as without

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1u, Count(m));
        Assert.Equal(next, LoggedEip(m, 0)); // trap: the return address is the next instruction
        Assert.Equal(2u, LoggedDr6(m, 0) & 0xF); // B1
        Assert.Equal(0x5Au, m.Dword(0x5000) >> 24); // the write happened
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_write_breakpoint_traps_on_a_push(bool hostWatch)
    {
        var m = new H();
        List<HostWatchAccess> watched = WatchSameRange(m, hostWatch, H.StackTop - 4);
        InstallLoggingDebugHandler(m);
        uint next = LoadWithLabel(m, a =>
        {
            Label after = a.CreateLabel();
            a.xor(ecx, ecx);
            a.mov(eax, H.StackTop - 4);
            a.mov(dr2, eax);
            a.mov(eax, Dr7(2, 3, 3)); // read/write, 4 bytes
            a.mov(dr7, eax);
            a.push(0x1234);
            a.Label(ref after);
            a.mov(edx, __dword_ptr[esp]); // reads the same dword: a second trap (a POP would let the #DB frame land on it)
            a.hlt();
            return after;
        });
        m.Cpu.Run(1000);
        Assert.Equal(hostWatch, watched.Count != 0); // the host watch saw the access; the guest sees the same as without

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(2u, Count(m));
        Assert.Equal(next, LoggedEip(m, 0));
        Assert.Equal(4u, LoggedDr6(m, 0) & 0xF); // B2
        Assert.Equal(4u, LoggedDr6(m, 1) & 0xF);
        Assert.Equal(0x1234UL, m.Reg(GeneralRegister.Rdx));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Breakpoint_in_a_rep_string_traps_after_the_iteration_and_the_instruction_resumes(bool hostWatch)
    {
        var m = new H();
        List<HostWatchAccess> watched = WatchSameRange(m, hostWatch, 0x6008);
        InstallLoggingDebugHandler(m);
        uint rep = LoadWithLabel(m, a =>
        {
            Label repStos = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(eax, 0x6008);
            a.mov(dr3, eax);
            a.mov(eax, Dr7(3, 1, 0)); // write, 1 byte
            a.mov(dr7, eax);
            a.mov(edi, 0x6000);
            a.mov(al, 0xAB);
            a.mov(ecx, 16);
            a.Label(ref repStos);
            a.rep.stosb();
            a.hlt();
            return repStos;
        });

        // The handler counts in EBX here because ECX belongs to REP.
        InstallHandler(m, 1, a =>
        {
            a.mov(eax, dr6);
            a.mov(__dword_ptr[LogAddress], eax);
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[LogEip], eax);
            a.mov(eax, __dword_ptr[esp + 8]);
            a.mov(__dword_ptr[LogFlags], eax);
            a.mov(__dword_ptr[LogAddress + 0x300], ecx);
            a.inc(ebx);
            a.mov(eax, 0xAB);
            a.iretd();
        });
        m.Cpu.Run(1000);
        Assert.Equal(hostWatch, watched.Count != 0); // the host watch saw the access; the guest sees the same as without

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(8u, LoggedDr6(m, 0) & 0xF); // B3
        Assert.Equal(rep, LoggedEip(m, 0)); // mid-instruction: back to the REP STOSB
        Assert.Equal(16u - 9, m.Dword(LogAddress + 0x300)); // after the iteration that wrote 6008h
        Assert.Equal(0x10000u, LoggedFlags(m, 0) & 0x10000); // RF = 1 for a trap between iterations (SDM 17.3.1.1)
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x6010UL, m.Reg(GeneralRegister.Rdi));
        Assert.Equal(0xABABABABu, m.Dword(0x600C));
    }

    [Fact]
    public void Data_breakpoint_ranges_are_aligned_to_their_length()
    {
        var m = new H();
        InstallLoggingDebugHandler(m);
        m.Load(a =>
        {
            a.xor(ecx, ecx);
            a.mov(eax, 0x5003); // LEN 4: 5000h-5003h
            a.mov(dr0, eax);
            a.mov(eax, 0x5005); // LEN 2: 5004h-5005h
            a.mov(dr1, eax);
            a.mov(eax, Dr7(0, 1, 3) | Dr7(1, 1, 1));
            a.mov(dr7, eax);
            a.mov(__byte_ptr[0x5006], 1); // outside both
            a.mov(__byte_ptr[0x5000], 1); // B0
            a.mov(__byte_ptr[0x5004], 1); // B1
            a.mov(__word_ptr[0x4FFF], 1); // overlaps 5000h: B0
            a.mov(__dword_ptr[0x5002], 1); // overlaps both: B0 and B1 in one #DB
            a.mov(__byte_ptr[0x5007], 1); // outside both
            a.hlt();
        });
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(4u, Count(m));
        Assert.Equal(1u, LoggedDr6(m, 0) & 0xF);
        Assert.Equal(2u, LoggedDr6(m, 1) & 0xF);
        Assert.Equal(1u, LoggedDr6(m, 2) & 0xF);
        Assert.Equal(3u, LoggedDr6(m, 3) & 0xF);
    }

    [Fact]
    public void Breakpoint_hit_by_an_interrupt_frame_traps_before_the_handlers_first_instruction()
    {
        const uint nmiHandler = HandlerCode + 0x400;
        var m = new H();
        InstallLoggingDebugHandler(m);
        InstallHandler(m, 2, a =>
        {
            a.inc(esi);
            a.hlt();
        }, nmiHandler);
        m.Load(a =>
        {
            Label spin = a.CreateLabel();
            a.xor(ecx, ecx);
            a.xor(esi, esi);
            a.mov(eax, H.StackTop - 4); // where the NMI pushes EFLAGS
            a.mov(dr0, eax);
            a.mov(eax, Dr7(0, 1, 3));
            a.mov(dr7, eax);
            a.Label(ref spin);
            a.jmp(spin);
        });
        m.Cpu.Run(50);
        Assert.Equal(0u, Count(m));

        m.Cpu.RaiseNmi();
        m.Cpu.Run(1); // delivers the NMI, whose frame hits DR0: the #DB comes before INC ESI
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rsi));
        m.Cpu.Run(100);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1u, Count(m));
        Assert.Equal(nmiHandler, LoggedEip(m, 0));
        Assert.Equal(1u, LoggedDr6(m, 0) & 0xF);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rsi));
    }

    [Fact]
    public void Breakpoint_hit_by_mov_ss_traps_after_the_next_instruction()
    {
        var m = new H();
        InstallLoggingDebugHandler(m);
        m.Memory.WriteWord(new PhysicalAddress(0x5000), H.FlatData);
        uint afterNext = LoadWithLabel(m, a =>
        {
            Label label = a.CreateLabel();
            a.xor(ecx, ecx);
            a.mov(eax, 0x5000);
            a.mov(dr0, eax);
            a.mov(eax, Dr7(0, 3, 1)); // read/write, 2 bytes
            a.mov(dr7, eax);
            a.mov(ss, __word_ptr[0x5000]);
            a.mov(ebx, 1); // runs in the MOV SS shadow: the trap waits for it (Intel SDM Vol. 3A, 6.8.3)
            a.Label(ref label);
            a.nop();
            a.hlt();
            return label;
        });
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1u, Count(m));
        Assert.Equal(afterNext, LoggedEip(m, 0));
        Assert.Equal(1u, LoggedDr6(m, 0) & 0xF);
    }

    [Fact]
    public void Disabled_breakpoints_raise_nothing()
    {
        var m = new H();
        InstallLoggingDebugHandler(m);
        m.Load(a =>
        {
            a.xor(ecx, ecx);
            a.mov(eax, 0x5000);
            a.mov(dr0, eax);
            a.mov(eax, H.CodeAddress);
            a.mov(dr1, eax);
            a.mov(eax, Dr7(0, 3, 3) & ~3u); // R/W and LEN set, L0/G0 clear
            a.mov(dr7, eax);
            a.mov(__dword_ptr[0x5000], 1);
            a.mov(edx, __dword_ptr[0x5000]);
            a.hlt();
        });
        m.Cpu.Run(1000);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(0u, Count(m));
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void General_detect_faults_on_mov_dr_with_bd_and_clears_gd()
    {
        var m = new H();
        InstallHandler(m, 1, a =>
        {
            a.mov(esi, dr6); // GD is clear in the handler, so this does not fault again
            a.mov(edi, dr7);
            a.mov(ebp, __dword_ptr[esp]);
            a.inc(ecx);
            a.iretd();
        });
        uint mov = LoadWithLabel(m, a =>
        {
            Label movDr = a.CreateLabel();
            a.xor(ecx, ecx);
            a.mov(eax, 0x1111);
            a.mov(dr0, eax);
            a.mov(eax, 0x2000); // GD
            a.mov(dr7, eax);
            a.Label(ref movDr);
            a.mov(ebx, dr0);
            a.hlt();
            return movDr;
        });
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1u, Count(m));
        Assert.Equal((ulong)mov, m.Reg(GeneralRegister.Rbp)); // fault: return to the MOV, which then completes
        Assert.Equal(0x2000UL, m.Reg(GeneralRegister.Rsi) & 0x2000); // BD
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rdi) & 0x2000); // GD cleared on entry
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbx));
    }

    [Fact]
    public void General_detect_works_in_real_mode()
    {
        var m = new CpuHarness();
        byte[] handler = CpuHarness.Assemble(a =>
        {
            a.mov(esi, dr6);
            a.mov(bp, sp);
            a.mov(di, __word_ptr[bp]);
            a.inc(cx);
            a.iret();
        }, 0x2000);
        m.Load(a =>
        {
            a.xor(cx, cx);
            a.mov(eax, 0x2000);
            a.mov(dr7, eax);
            a.mov(ebx, dr7);
            a.hlt();
        });
        m.Memory.Write(new PhysicalAddress(0x2000), handler);
        m.Memory.WriteWord(new PhysicalAddress(4), 0x2000);
        m.Memory.WriteWord(new PhysicalAddress(6), 0);
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1UL, m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x2000UL, m.Reg(GeneralRegister.Rsi) & 0x2000);
        Assert.Equal(CpuHarness.CodeOffset + 2u + 6u + 3u, (uint)m.Reg(GeneralRegister.Rdi)); // XOR CX,CX; MOV EAX,imm32; MOV DR7,EAX
        Assert.Equal(0x400UL, m.Reg(GeneralRegister.Rbx)); // the retried MOV reads DR7 with GD cleared
    }

    [Fact]
    public void Single_step_sets_bs()
    {
        var m = new H();
        InstallHandler(m, 1, a =>
        {
            a.mov(esi, dr6);
            a.mov(edi, __dword_ptr[esp]);
            a.and(__dword_ptr[esp + 8], ~0x100); // clear TF
            a.inc(ecx);
            a.iretd();
        });
        uint second = LoadWithLabel(m, a =>
        {
            Label l = a.CreateLabel();
            a.xor(ecx, ecx);
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd();
            a.nop(); // the trap comes after this instruction
            a.Label(ref l);
            a.nop();
            a.hlt();
            return l;
        });
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1u, Count(m));
        Assert.Equal(0x4000UL, m.Reg(GeneralRegister.Rsi) & 0x400F); // BS, no Bn
        Assert.Equal((ulong)second, m.Reg(GeneralRegister.Rdi));
    }

    [Fact]
    public void Io_breakpoint_traps_after_out_with_cr4_de_only()
    {
        foreach (bool de in new[] { true, false })
        {
            var m = new H();
            InstallLoggingDebugHandler(m);
            uint next = LoadWithLabel(m, a =>
            {
                Label after = a.CreateLabel();
                a.xor(ecx, ecx);
                a.mov(eax, de ? 8u : 0u);
                a.mov(cr4, eax);
                a.mov(eax, 0x81); // LEN 2: ports 80h-81h
                a.mov(dr0, eax);
                a.mov(eax, Dr7(0, 2, 1));
                a.mov(dr7, eax);
                a.mov(dx, 0x82);
                a.@out(dx, al); // outside the range
                a.@out(0x81, al);
                a.Label(ref after);
                a.nop();
                a.hlt();
                return after;
            });
            m.Cpu.Run(1000);

            Assert.True(m.Cpu.IsHalted);
            if (de)
            {
                Assert.Equal(1u, Count(m));
                Assert.Equal(1u, LoggedDr6(m, 0) & 0xF);
                Assert.Equal(next, LoggedEip(m, 0));
            }
            else
            {
                Assert.Equal(0u, Count(m));
            }
        }
    }

    [Fact]
    public void Dr4_with_cr4_de_is_invalid_opcode()
    {
        var m = new H();
        m.InstallGate(6);
        m.Run(a =>
        {
            a.mov(eax, 8);
            a.mov(cr4, eax);
            a.mov(ebx, dr4);
            a.hlt();
        });
        Assert.Equal(6, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(6) + 1, m.Cpu.Eip);
    }

    [Fact]
    public void Fault_class_exceptions_push_rf_set()
    {
        var m = new H();
        InstallHandler(m, 13, a =>
        {
            a.mov(esi, __dword_ptr[esp + 12]); // EFLAGS above the error code, EIP and CS
            a.hlt();
        });
        m.Run(a =>
        {
            a.mov(eax, 0x1234);
            a.mov(ds, ax); // no such descriptor: #GP
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0x10000UL, m.Reg(GeneralRegister.Rsi) & 0x10000);
        Assert.Equal(0u, m.Cpu.Flags & 0x10000); // the handler runs with RF clear
    }

    [Fact]
    public void Single_step_traps_after_every_iteration_of_a_rep_string_instruction()
    {
        // Intel SDM Vol. 3B, 17.3.1.4: a single-step trap after each iteration; the instruction resumes with ECX/EDI as
        // left, and the trap after an iteration but the last pushes RF = 1 (17.3.1.1). The handler logs, indexed by EBX,
        // the return EIP, the pushed EFLAGS and EDI.
        var m = new H();
        InstallHandler(m, 1, a =>
        {
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[(ebx * 4) + (int)LogEip], eax);
            a.mov(eax, __dword_ptr[esp + 8]);
            a.mov(__dword_ptr[(ebx * 4) + (int)LogFlags], eax);
            a.mov(__dword_ptr[(ebx * 4) + (int)LogAddress], edi);
            a.inc(ebx);
            a.iretd();
        });
        uint after = LoadWithLabel(m, a =>
        {
            Label repLabel = a.CreateLabel();
            Label afterLabel = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(edi, 0x30000);
            a.mov(ecx, 3);
            a.xor(eax, eax);
            a.cld();
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd(); // TF = 1: the first trap comes after the next instruction
            a.Label(ref repLabel);
            a.rep.stosd();
            a.Label(ref afterLabel);
            a.hlt();
            return afterLabel;
        });
        uint rep = after - 2; // F3 AB

        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(3UL, m.Reg(GeneralRegister.Rbx));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i < 2 ? rep : after, LoggedEip(m, i));
            Assert.Equal(0x30004u + (uint)(4 * i), m.Dword(LogAddress + ((uint)i * 4))); // EDI after iteration i + 1
            Assert.Equal(i < 2 ? 0x10000u : 0u, LoggedFlags(m, i) & 0x10000);
            Assert.Equal(0x100u, LoggedFlags(m, i) & 0x100);
        }

        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx));
    }

    [Theory]
    [InlineData(0x40)] // INT 40h
    [InlineData(3)] // INT3
    [InlineData(4)] // INTO with OF = 1
    public void Software_interrupt_taken_with_tf_set_is_not_followed_by_a_single_step_trap(int vector)
    {
        // Intel SDM Vol. 3B, 17.3.1.4: INT n, INT3 and INTO clear TF on entry to the handler and no single-step trap
        // follows them; IRETD restores TF = 1, and the next trap comes after the first instruction back (the NOP).
        var m = new H();
        InstallLoggingDebugHandler(m);
        InstallHandler(m, vector, a =>
        {
            a.pushfd();
            a.pop(esi); // the handler's EFLAGS
            a.iretd();
        }, address: 0x21000);
        uint afterNop = LoadWithLabel(m, a =>
        {
            Label l = a.CreateLabel();
            a.xor(ecx, ecx);
            a.mov(al, 0x7F);
            a.add(al, 1); // OF = 1 for INTO
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd();
            switch (vector)
            {
                case 3:
                    a.int3();
                    break;
                case 4:
                    a.into();
                    break;
                default:
                    a.@int((sbyte)vector);
                    break;
            }

            a.nop();
            a.Label(ref l);
            a.hlt();
            return l;
        });
        m.Cpu.Run(1000);

        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rsi) & 0x100); // the handler ran with TF clear
        Assert.Equal(1u, Count(m));
        Assert.Equal(afterNop, LoggedEip(m, 0));
        Assert.Equal(0x4000u, LoggedDr6(m, 0) & 0x400F);
    }
}
