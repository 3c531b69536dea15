using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// Far JMP and CALL in IA-32e mode (System/Cpu.FarTransfers64.cs): 64-bit call gates (Intel SDM Vol. 3A, 5.8.3.1 and
/// 5.8.6; Vol. 2A, CALL and JMP) and the m16:64 far pointer of FF /3 and FF /5 with REX.W.
/// </summary>
public sealed class FarTransfers64Tests
{
    /// <summary>A 16-byte call gate in GDT entries 9 and 10 (the harness's table ends at the 64-bit TSS, 38h-47h).</summary>
    private const ushort Gate = 0x48;

    /// <summary>Where the tests put the code the gates and pointers lead to (separately assembled, at a known address).</summary>
    private const uint TargetAddress = 0x22000;

    /// <summary>Where CPL 3 code starts (separately assembled, so the return address of its first instruction is known).</summary>
    private const uint UserAddress = 0x24000;

    private const uint UserStackTop = 0x7E000;

    /// <summary>The bytes of CALL FAR [disp32] in 64-bit mode (FF /3, ModRM 1Ch, SIB 25h: no base, no index), optionally with REX.W.</summary>
    private static byte[] CallFarAbsolute(uint pointer, bool rexW = false) => FarIndirect(0x1C, pointer, rexW);

    /// <summary>The bytes of JMP FAR [disp32] (FF /5, ModRM 2Ch).</summary>
    private static byte[] JmpFarAbsolute(uint pointer, bool rexW = false) => FarIndirect(0x2C, pointer, rexW);

    private static byte[] FarIndirect(byte modRm, uint pointer, bool rexW)
    {
        var bytes = new List<byte>();
        if (rexW)
        {
            bytes.Add(0x48);
        }

        bytes.AddRange([0xFF, modRm, 0x25]);
        bytes.AddRange(BitConverter.GetBytes(pointer));
        return [.. bytes];
    }

    /// <summary>Writes a 64-bit call gate (type 0Ch) at <see cref="Gate"/>, with <paramref name="upper"/> as its second half's bits 63:32.</summary>
    private static void SetCallGate(H m, ushort target, ulong offset, int dpl, int type = 0xC, ulong? upper = null)
    {
        ulong low = (offset & 0xFFFF) | ((ulong)target << 16) | ((ulong)(0x80 | (dpl << 5) | type) << 40) | (((offset >> 16) & 0xFFFF) << 48);
        m.SetDescriptor(Gate, low);
        m.SetDescriptor(Gate + 8, upper ?? (offset >> 32));
        m.Cpu.GdtLimit = Gate + 15;
    }

    private static void WritePointer32(H m, uint at, uint offset, ushort selector)
    {
        m.Memory.WriteDoubleWord(new PhysicalAddress(at), offset);
        m.Memory.WriteWord(new PhysicalAddress(at + 4), selector);
    }

    private static void WriteCode(H m, uint at, Action<Iced.Intel.Assembler> build, ulong ip) =>
        m.Memory.Write(new PhysicalAddress(at), H.Assemble(64, build, ip));

    [Fact]
    public void Call_through_a_64_bit_gate_from_cpl3_switches_to_rsp0_with_a_null_ss_and_pushes_8_byte_ss_rsp_cs_rip()
    {
        var m = new H();
        m.Load(a =>
        {
            // CPL 0 to CPL 3 with RETFQ, then the user code calls the gate.
            a.push(H.DataUser | 3);
            a.push((int)UserStackTop);
            a.push(H.Code64User | 3);
            a.mov(rax, UserAddress);
            a.push(rax);
            a.db(0x48, 0xCB);
        });
        byte[] call = CallFarAbsolute(H.DataAddress);
        m.Memory.Write(new PhysicalAddress(UserAddress), call);
        WriteCode(m, UserAddress + (uint)call.Length, a =>
        {
            a.mov(r12, rsp);
            a.@int(0x43);
        }, UserAddress + (ulong)call.Length);
        WriteCode(m, TargetAddress, a =>
        {
            a.mov(rbx, rsp);
            a.xor(ecx, ecx);
            a.mov(cx, ss);
            a.xor(edx, edx);
            a.mov(dx, cs);
            a.mov(r8, __qword_ptr[rsp]);
            a.mov(r9, __qword_ptr[rsp + 8]);
            a.mov(r10, __qword_ptr[rsp + 16]);
            a.mov(r11, __qword_ptr[rsp + 24]);
            a.db(0x48, 0xCB); // RETFQ to CPL 3: pops RIP, CS, RSP, SS
        }, TargetAddress);
        SetCallGate(m, H.Code64, TargetAddress, dpl: 3);
        WritePointer32(m, H.DataAddress, 0xDEAD_BEEF, Gate | 3); // the offset is ignored: the gate gives it
        m.SetGate(0x43, H.HandlerAddress(0x43), dpl: 3);

        m.Cpu.Run(10_000);

        Assert.Equal(H.HaltedIn(0x43), m.Cpu.Rip);
        Assert.Equal(H.Rsp0Top - 32, m.Reg(GeneralRegister.Rbx)); // RSP0 of the 64-bit TSS, 4 pushes of 8 bytes, no alignment
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rcx)); // SS: the null selector with RPL = new CPL 0
        Assert.Equal((ulong)H.Code64, m.Reg(GeneralRegister.Rdx));
        Assert.Equal((ulong)(UserAddress + call.Length), m.Reg(GeneralRegister.R8)); // RIP after the CALL
        Assert.Equal((ulong)(H.Code64User | 3), m.Reg(GeneralRegister.R9));
        Assert.Equal((ulong)UserStackTop, m.Reg(GeneralRegister.R10));
        Assert.Equal((ulong)(H.DataUser | 3), m.Reg(GeneralRegister.R11));
        Assert.Equal((ulong)UserStackTop, m.Reg(GeneralRegister.R12)); // RETFQ restored the user stack
    }

    [Fact]
    public void Call_through_a_64_bit_gate_at_the_same_level_pushes_8_byte_cs_and_rip_and_takes_the_64_bit_offset()
    {
        var m = new H();
        byte[] call = CallFarAbsolute(H.DataAddress);
        m.Load(a => a.db(call));
        WriteCode(m, TargetAddress, a =>
        {
            a.mov(rbx, rsp);
            a.hlt();
        }, H.HighHalf + TargetAddress);
        SetCallGate(m, H.Code64, H.HighHalf + TargetAddress, dpl: 0);
        WritePointer32(m, H.DataAddress, 0, Gate);

        m.Cpu.Run(10_000);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.Rip > H.HighHalf, $"RIP {m.Cpu.Rip:X} should be the gate's 64-bit offset");
        Assert.Equal(H.StackTop - 16, m.Reg(GeneralRegister.Rbx));
        Assert.Equal((ulong)H.Code64, m.Qword(H.StackTop - 8));
        Assert.Equal((ulong)(H.CodeAddress + call.Length), m.Qword(H.StackTop - 16));
    }

    [Fact]
    public void Jmp_through_a_64_bit_gate_loads_the_target_without_touching_the_stack()
    {
        var m = new H();
        m.Load(a => a.db(JmpFarAbsolute(H.DataAddress)));
        WriteCode(m, TargetAddress, a =>
        {
            a.mov(rbx, rsp);
            a.hlt();
        }, H.HighHalf + TargetAddress);
        SetCallGate(m, H.Code64, H.HighHalf + TargetAddress, dpl: 0);
        WritePointer32(m, H.DataAddress, 0, Gate);

        m.Cpu.Run(10_000);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.Rip > H.HighHalf, $"RIP {m.Cpu.Rip:X} should be the gate's 64-bit offset");
        Assert.Equal((ulong)H.StackTop, m.Reg(GeneralRegister.Rbx));
    }

    [Theory]
    [InlineData(0xC, 0x0000_0C00_0000_0000UL, (int)Gate)] // the second half's type field is not 0 (it reads as a call gate): #GP(gate)
    [InlineData(0x4, 0UL, (int)Gate)] // a 16-bit call gate does not exist in IA-32e mode: #GP(gate)
    [InlineData(0xC, 0UL, (int)H.Code32)] // the gate leads to a 32-bit code segment: #GP(target)
    public void Invalid_64_bit_gates_raise_gp_with_the_selector(int type, ulong upper, int errorCode)
    {
        var m = new H();
        var records = new List<CpuExceptionRecord>();
        m.Load(a => a.db(CallFarAbsolute(H.DataAddress)));
        ushort target = errorCode == H.Code32 ? H.Code32 : H.Code64;
        SetCallGate(m, target, TargetAddress, dpl: 0, type, upper);
        WritePointer32(m, H.DataAddress, 0, Gate);
        m.Cpu.EventObserver = new Recorder(records);

        m.Cpu.Run(10_000);

        Assert.Equal(H.HaltedIn(13), m.Cpu.Rip);
        Assert.Equal(13, records[0].Vector);
        Assert.Equal(errorCode, records[0].ErrorCode);
        Assert.Equal((ulong)H.StackTop, m.Qword(H.StackTop - 48 + 32)); // the #GP frame's RSP: nothing was pushed before it
    }

    [Fact]
    public void Jmp_m16_64_takes_all_64_bits_of_the_offset()
    {
        var m = new H();
        m.Load(a => a.db(JmpFarAbsolute(H.DataAddress, rexW: true)));
        WriteCode(m, TargetAddress, a => a.hlt(), H.HighHalf + TargetAddress);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.DataAddress), H.HighHalf + TargetAddress);
        m.Memory.WriteWord(new PhysicalAddress(H.DataAddress + 8), H.Code64);

        m.Cpu.Run(10_000);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HighHalf + TargetAddress + 1, m.Cpu.Rip);
    }

    [Fact]
    public void Call_m16_64_pushes_cs_and_rip_as_8_byte_values()
    {
        var m = new H();
        byte[] call = CallFarAbsolute(H.DataAddress, rexW: true);
        m.Load(a => a.db(call));
        WriteCode(m, TargetAddress, a =>
        {
            a.mov(rbx, rsp);
            a.hlt();
        }, H.HighHalf + TargetAddress);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.DataAddress), H.HighHalf + TargetAddress);
        m.Memory.WriteWord(new PhysicalAddress(H.DataAddress + 8), H.Code64);

        m.Cpu.Run(10_000);

        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.Rip > H.HighHalf, $"RIP {m.Cpu.Rip:X} should be the pointer's 64-bit offset");
        Assert.Equal(H.StackTop - 16, m.Reg(GeneralRegister.Rbx));
        Assert.Equal((ulong)H.Code64, m.Qword(H.StackTop - 8));
        Assert.Equal((ulong)(H.CodeAddress + call.Length), m.Qword(H.StackTop - 16));
    }

    private sealed class Recorder(List<CpuExceptionRecord> records) : ICpuEventObserver
    {
        public void OnInterrupt(in CpuExceptionRecord record) => records.Add(record);
    }
}
